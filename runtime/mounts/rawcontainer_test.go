package mounts

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"nsh/runtime/caps"
	"nsh/runtime/nsproc"
	"nsh/runtime/rootfs"
)

// What a container shows of itself: mounts, credentials, capabilities,
// seccomp, hostname, descriptors, the soft limit of descriptors.
const rawProbe = `cat /proc/self/mountinfo; while read -r k v; do case "$k" in Cap*|NoNewPrivs*|Seccomp*|Uid*|Gid*|Groups*) echo "$k $v";; esac; done < /proc/self/status; hostname; ls /proc/self/fd; ulimit -n; pwd; echo "env=$RAWCT"`

type rawCase struct {
	name string
	spec func(root string) nsproc.Spec
	c    func(root string) Container
	raw  bool // the raw start is expected (else both re-execute)
}

// TestRawMatchesReexec starts each container configuration twice, the raw
// way and by re-executing nsh (nsproc.ForceReexec), and compares what the
// container sees and how a failing one fails.
func TestRawMatchesReexec(t *testing.T) {
	if _, err := os.Stat("/proc/self/ns/user"); err != nil {
		t.Skip("no user namespaces")
	}
	dir := t.TempDir()
	// reachable by every uid a map may give the child (65534 too), and so
	// is the binary the old path re-executes
	os.Chmod(filepath.Dir(dir), 0o755)
	os.Chmod(dir, 0o755)
	image := filepath.Join(dir, "image")
	if _, err := rootfs.Build(image, rootfs.Options{Binaries: []string{"/bin/sh", "/bin/cat", "/bin/ls", "/bin/hostname"}}); err != nil {
		t.Fatal(err)
	}
	self, _ := os.ReadFile("/proc/self/exe")
	exe := filepath.Join(dir, "mounts.test")
	if err := os.WriteFile(exe, self, 0o755); err != nil {
		t.Fatal(err)
	}
	defer func(old string) { nsproc.Exe = old }(nsproc.Exe)
	nsproc.Exe = exe
	// each start gets a fresh copy at the same path: a set-up may write
	// into its rootfs (the /dev/ptmx link of a kept /dev)
	root := filepath.Join(dir, "r")
	fresh := func() {
		os.Chmod(root, 0o755)
		if err := rootfs.RemoveTree(root); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if err := rootfs.Copy(image, root); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o644)
	// a descriptor without close-on-exec, as one nsh might inherit: only unsafe=fds lets it through
	var leak [2]int
	if err := syscall.Pipe(leak[:]); err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(leak[0])
	defer syscall.Close(leak[1])

	all := "user,pid,mnt,uts,ipc,net,cgroup"
	userns := func(types string, m string) func(string) nsproc.Spec {
		return func(string) nsproc.Spec {
			s := nsproc.Spec{Types: mustSet(t, types)}
			if m != "" {
				s.UIDMap, _ = nsproc.ParseIDMap(m)
				s.GIDMap, _ = nsproc.ParseIDMap(m)
			}
			return s
		}
	}
	full := func(r string) Container {
		c := FullContainer()
		c.Rootfs = r
		return c
	}
	with := func(f func(*Container)) func(string) Container {
		return func(r string) Container { c := full(r); f(&c); return c }
	}
	root0 := os.Geteuid() == 0
	cases := []rawCase{
		{name: "full-userns", spec: userns(all, "0 0 1"), c: full, raw: true},
		{name: "full-userns-nobody-map", spec: userns(all, "0 65534 1"), c: full, raw: true},
		{name: "bench", spec: userns(all, "0 0 1"), c: func(r string) Container { return Container{Rootfs: r, Proc: true, Dev: DevMinimal} }, raw: true},
		{name: "no-rootfs-userns", spec: userns("user,mnt,pid", "0 0 1"), c: func(string) Container { return Container{Proc: true, Dev: DevMinimal, DevPts: true, Shm: true} }, raw: true},
		{name: "keepdev-extras", spec: userns(all, "0 0 1"), c: func(r string) Container {
			return Container{Rootfs: r, Proc: true, DevPts: true, Shm: true, Mqueue: true}
		}, raw: true},
		{name: "no-proc", spec: userns(all, "0 0 1"), c: func(r string) Container { return Container{Rootfs: r, Dev: DevMinimal} }, raw: true},
		{name: "unsafe-fds", spec: userns(all, "0 0 1"), c: with(func(c *Container) { c.Unsafe = []string{ProtectFDs} }), raw: true},
		{name: "unsafe-caps", spec: userns(all, "0 0 1"), c: with(func(c *Container) { c.Unsafe = []string{ProtectCaps} }), raw: true},
		{name: "unsafe-nnp", spec: userns(all, "0 0 1"), c: with(func(c *Container) { c.Unsafe = []string{ProtectNoNewPrivs} }), raw: true},
		{name: "unsafe-seccomp", spec: userns(all, "0 0 1"), c: with(func(c *Container) { c.Unsafe = []string{ProtectSeccomp} }), raw: true},
		{name: "unsafe-all", spec: userns(all, "0 0 1"), c: with(func(c *Container) { c.Unsafe = Protections }), raw: true},
		{name: "ids-userns", spec: func(r string) nsproc.Spec {
			s := userns(all, "0 0 2000")(r)
			if !root0 {
				s.UIDMap, _ = nsproc.ParseIDMap("0 65534 1")
				s.GIDMap = s.UIDMap
			}
			id := 0
			if root0 {
				id = 1000
			}
			s.UID, s.GID = &id, &id
			s.Setup.Hostname = "box"
			s.Dir = "/proc"
			s.Env = []string{"RAWCT=1", "PATH=/bin:/usr/bin"}
			return s
		}, c: full, raw: true},
		{name: "held", spec: func(r string) nsproc.Spec { s := userns(all, "0 0 1")(r); s.Hold = true; return s }, c: full, raw: true},
		{name: "missing-rootfs", spec: userns(all, "0 0 1"), c: func(r string) Container { return Container{Rootfs: r + "-missing", Proc: true} }, raw: true},
		{name: "rootfs-is-file", spec: userns(all, "0 0 1"), c: func(string) Container { return Container{Rootfs: file} }, raw: true},
		{name: "devtmpfs-userns", spec: userns(all, "0 0 1"), c: func(r string) Container { return Container{Rootfs: r, Dev: DevKernel} }, raw: true},
		{name: "caps-step", spec: func(r string) nsproc.Spec {
			s := userns(all, "0 0 1")(r)
			s.Setup.Steps = append(s.Setup.Steps, caps.StepFor(caps.StepArgs{Drop: []int{13, 21}, NoNewPrivs: true}))
			return s
		}, c: full, raw: true},
		{name: "caps-step-only", spec: func(r string) nsproc.Spec {
			s := userns("user,uts", "0 0 1")(r)
			s.Setup.Hostname = "h"
			s.Setup.Steps = append(s.Setup.Steps, caps.StepFor(caps.StepArgs{Drop: []int{13}}))
			s.Argv = []string{"/bin/sh", "-c", "grep -E '^(Cap|NoNew)' /proc/self/status; hostname"}
			return s
		}, raw: true},
		{name: "caps-step-invalid", spec: func(r string) nsproc.Spec {
			s := userns(all, "0 0 1")(r)
			s.Setup.Steps = append(s.Setup.Steps, caps.StepFor(caps.StepArgs{Drop: []int{99}}))
			return s
		}, c: full, raw: true},
		{name: "missing-program", spec: func(r string) nsproc.Spec {
			s := userns(all, "0 0 1")(r)
			s.Argv = []string{"/bin/nosuch"}
			return s
		}, c: full, raw: true},
	}
	if root0 {
		cases = append(cases,
			rawCase{name: "full-root", spec: userns("pid,mnt,uts,ipc,net,cgroup", ""), c: full, raw: true},
			rawCase{name: "devtmpfs-root", spec: userns("pid,mnt", ""), c: func(r string) Container { return Container{Rootfs: r, Proc: true, Dev: DevKernel, DevPts: true} }, raw: true},
			rawCase{name: "ids-root", spec: func(r string) nsproc.Spec {
				s := userns("pid,mnt,uts", "")(r)
				id := 1000
				s.UID, s.GID = &id, &id
				return s
			}, c: full, raw: true},
		)
	} else {
		cases = append(cases, rawCase{name: "eperm-nobody", spec: userns("pid,mnt", ""), c: full, raw: true})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := tc.spec(root)
			if spec.Argv == nil {
				spec.Argv = []string{"/bin/sh", "-c", rawProbe}
			}
			if tc.c != nil {
				if _, err := EditSetup(&spec.Setup, func(c *Container) error { *c = tc.c(root); return nil }); err != nil {
					t.Fatal(err)
				}
			}
			if got := spec.UsesRawSetup(); got != tc.raw {
				t.Fatalf("UsesRawSetup = %v, want %v", got, tc.raw)
			}
			fresh()
			raw := runBoth(t, spec, false)
			fresh()
			old := runBoth(t, spec, true)
			if raw != old {
				t.Errorf("the raw start differs from the re-executed one:\n--- raw\n%s\n--- re-exec\n%s", raw, old)
			}
			t.Logf("%s", raw)
		})
	}
}

func mustSet(t *testing.T, s string) nsproc.Set {
	set, err := nsproc.ParseSet(s)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// mount ids and the anonymous device numbers of new filesystems differ from one start to the next
var (
	mountIDs = regexp.MustCompile(`(?m)^\d+ \d+ `)
	anonDevs = regexp.MustCompile(`(?m)^0:\d+ `)
)

// runBoth starts spec (the old way when reexec) and reports the start's
// error, or the output, the exit code and the error the child reported.
func runBoth(t *testing.T, spec nsproc.Spec, reexec bool) string {
	t.Helper()
	nsproc.ForceReexec = reexec
	defer func() { nsproc.ForceReexec = false }()
	out, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	spec.Stdout, spec.Stderr = out, out
	p, err := nsproc.Start(spec)
	if err != nil {
		return "start: " + err.Error()
	}
	if spec.Hold {
		time.Sleep(20 * time.Millisecond)
		if err := p.Release(); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st, err := p.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(out.Name())
	text := anonDevs.ReplaceAllString(mountIDs.ReplaceAllString(string(b), ""), "0:N ")
	return fmt.Sprintf("%s\ncode=%d signal=%s error=%q", strings.TrimSpace(text), st.Code, st.Signal, st.ErrorMsg)
}
