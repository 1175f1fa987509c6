package main

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// TestMountBadInput feeds the mount, rootfs and view.mounts bindings wrong
// input: each call must fail with a Lua error that names the problem (and,
// for kernel refusals, the errno), never a Go panic.
func TestMountBadInput(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (mount namespaces without a user namespace)")
	}
	cases := []struct{ code, want string }{
		{`mount.mount()`, "target must be a non-empty string"},
		{`mount.mount("x", "/tmp", "tmpfs", "nosuid,frobnicate")`, `unknown flag "frobnicate"`},
		{`mount.mount("x", "/tmp", "tmpfs", 42)`, "flags must be a string"},
		{`mount.umount("/tmp", "sideways")`, `valid: "detach" or "force"`},
		{`mount.umount("/tmp", 3)`, "expected"},
		{`mount.umount("/nonexistent-nsh")`, "ENOENT"},
		{`mount.bind("/tmp", "/tmp", {recursiv=true})`, "unknown option recursiv"},
		{`mount.bind("/tmp", "/tmp", {readonly="yes"})`, "must be true or false"},
		{`mount.make("/", "sharde")`, `kind must be one of "private", "shared", "slave", "unbindable", "rprivate"`},
		{`mount.make("/", "sharde")`, `did you mean "shared"`},
		{`mount.make("/", "private", 5)`, "recursive must be"},
		{`mount.make("/nonexistent-nsh", "private")`, "ENOENT"},
		{`mount.tmpfs("/tmp", {size="lots"})`, "size"},
		{`mount.tmpfs("/tmp", {mode="999"})`, "mode"},
		{`mount.overlay("x")`, "table expected"},
		{`mount.overlay{lower={}, target="/tmp"}`, "lower is empty"},
		{`mount.overlay{lower="/a", upper="/b", target="/tmp"}`, "upper and work go together"},
		{`mount.overlay{lower="/a"}`, "target missing"},
		{`mount.pivot_root("/tmp", "/tmp")`, "refused in the mount namespace nsh started in"},
		{`mount.pivot("/tmp")`, "refused in the mount namespace nsh started in"},
		{`mount.container{rootfs="relative"}`, "absolute"},
		{`mount.container{dev="udev"}`, `"minimal" or "devtmpfs"`},
		{`mount.container{bogus=1}`, "unknown option bogus (valid: rootfs, proc, sys, dev, mqueue, readonly, mask, unsafe)"},
		{`mount.container{rootf="/tmp"}`, `did you mean "rootfs"?`},
		{`mount.mount(nil, "/tmp", nil, "private,frobnicate")`, "bad argument #4"},
		{`rootfs.remove("/tmp/..")`, "refusing to remove /"},
		{`rootfs.deps("/etc/hostname")`, "not an ELF file"},
		{`mount.list(-1)`, "pid must be a positive whole number"},
		{`mount.list(4000000)`, "ENOENT"},
		{`mount.diff(1)`, "two mount tables expected"},
		{`mount.diff({1}, {2})`, "not a mount row"},
		{`view.mounts{before={}, after=3}`, "needs both"},
		{`view.mounts(nil, {under=5, x=1})`, "unknown option x"},
		{`rootfs.build()`, "dir must be a non-empty string"},
		{`rootfs.build("/tmp/x", {binaries=5})`, "binaries must be a string or a list"},
		{`rootfs.build("/")`, "is not empty"},
		{`rootfs.build("/tmp/x", {nsh="yes"})`, "must be true or false"},
		{`rootfs.tmpdir("a/b")`, "without slashes"},
		{`rootfs.remove("/")`, "refusing to remove /"},
		{`rootfs.size("/nonexistent-nsh")`, "rootfs.size"},
		{`rootfs.deps("/etc/passwd")`, "rootfs.deps"},
		{`ns.spawn{"/bin/true", rootfs="/tmp"}`, `add "mnt" to ns`},
		{`ns.spawn{"/bin/true", ns="mnt", dev="udev"}`, `"minimal" or "devtmpfs"`},
		{`ns.spawn{"/bin/true", ns="mnt", mask={"relative"}}`, "not an absolute path"},
		{`ns.spawn{"/bin/true", ns="mnt", proc="yes"}`, "proc must be true or false"},
		{`ns.unshare("mnt"); mount.make("/", "private", true); mount.tmpfs("/mnt"); mount.pivot_root("/mnt", "/tmp")`, "EBUSY: new_root or put_old is on the same mount"},
	}
	var b strings.Builder
	for i, c := range cases {
		b.WriteString("do local ok, err = pcall(function() " + c.code + " end)\n")
		b.WriteString("print(\"CASE\", " + strconv.Itoa(i) + ", ok, (tostring(err):gsub(\"\\n\", \" \"))) end\n")
	}
	out, err := exec.Command(nshBin, "-e", b.String()).CombinedOutput()
	text := string(out)
	if strings.Contains(text, "panic") || strings.Contains(text, "goroutine ") {
		t.Fatalf("a Go panic escaped:\n%s", text)
	}
	if err != nil {
		t.Fatalf("nsh: %v\n%s", err, text)
	}
	lines := map[int]string{}
	for _, l := range strings.Split(text, "\n") {
		f := strings.SplitN(l, "\t", 4)
		if len(f) == 4 && f[0] == "CASE" {
			n, _ := strconv.Atoi(f[1])
			lines[n] = f[2] + "\t" + f[3]
		}
	}
	for i, c := range cases {
		got, ok := lines[i]
		if !ok {
			t.Errorf("%s: no result\n%s", c.code, text)
			continue
		}
		if !strings.HasPrefix(got, "false\t") || !strings.Contains(got, c.want) {
			t.Errorf("%s:\n  got  %s\n  want an error containing %q", c.code, got, c.want)
		}
	}
}
