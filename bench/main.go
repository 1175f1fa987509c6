// Command nshbench is make bench: nsh against the standard tools
// (bubblewrap, crun, unshare(1), lua5.4, ip netns exec, nsenter, plain Go
// over runtime/netlab), every comparison run in interleaved pairs so that a
// figure holds on a busy machine whose speed drifts between minutes.
//
//	nshbench [-quick] [-only REGEXP] [-pairs FACTOR] [-nsh PATH] [-md FILE] [-json FILE] [-list]
//
// For each comparison it prints both sides' wall and CPU time per operation
// (CPU is user+sys from wait4, children included) and the median, quartiles
// and extremes of the per-pair ratios A/B; at the end a Markdown table of
// the same figures. See bench/README.md.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "golab" {
		os.Exit(goLab(os.Args[2:]))
	}
	quick := flag.Bool("quick", os.Getenv("BENCH_QUICK") != "", "a short smoke run (also BENCH_QUICK=1)")
	only := flag.String("only", "", "run only the comparisons whose key matches this regexp")
	nsh := flag.String("nsh", "./nsh", "the nsh binary")
	md := flag.String("md", "", "also write the Markdown table to this file")
	list := flag.Bool("list", false, "list the comparisons and exit")
	jsonOut := flag.String("json", "", "also write every sample and per-pair ratio to this file (JSON)")
	scale := flag.Float64("pairs", 1, "multiply every comparison's number of pairs by this")
	flag.Parse()

	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "nshbench: run as root (it makes namespaces, mounts and labs)")
		os.Exit(1)
	}
	// A private mount namespace of our own: the crun bundle's state, the
	// node:run lab's pins and any mount we make vanish with it, and crun can
	// be shown a host without the cgroup2 hierarchy it refuses in hybrid
	// mode (see prepareMounts).
	if os.Getenv("NSHBENCH_MNTNS") == "" {
		self, _ := os.Executable()
		args := append([]string{"unshare", "--mount", "--propagation", "private", self}, os.Args[1:]...)
		path, err := exec.LookPath("unshare")
		if err == nil {
			os.Setenv("NSHBENCH_MNTNS", "1")
			err = unix.Exec(path, args, os.Environ())
		}
		fmt.Fprintln(os.Stderr, "nshbench: could not re-execute in a private mount namespace:", err)
		os.Exit(1)
	}

	mode := "full"
	if *quick {
		mode = "quick"
	}
	nshPath, err := filepath.Abs(*nsh)
	if err != nil {
		fatal(err)
	}
	self, _ := os.Executable()
	benchDir := filepath.Dir(self)
	if _, err := os.Stat(filepath.Join(benchDir, "iplab.sh")); err != nil {
		benchDir, _ = filepath.Abs("bench")
	}
	dir, err := os.MkdirTemp("", "nshbench.")
	if err != nil {
		fatal(err)
	}
	defer os.RemoveAll(dir)
	e := &env{nsh: nshPath, self: self, dir: dir, benchDir: benchDir, mode: mode, labID: fmt.Sprintf("nb%d", os.Getpid())}
	defer e.closeAll()

	cs := comparisons(e)
	for _, c := range cs {
		c.Pairs = max(1, int(float64(c.Pairs)**scale+0.5))
	}
	var re *regexp.Regexp
	if *only != "" {
		if re, err = regexp.Compile(*only); err != nil {
			fatal(err)
		}
	}
	if *list {
		for _, c := range cs {
			fmt.Printf("%-20s %s\n", c.Key, c.Title)
		}
		return
	}
	notes := prepare(e)
	fmt.Print(header(mode, notes))

	var rows []string
	var results []*Result
	failed := 0
	start := time.Now()
	for _, c := range cs {
		if re != nil && !re.MatchString(c.Key) {
			continue
		}
		if why := missing(c); why != "" {
			fmt.Printf("== %s  [%s]: skipped, %s\n\n", c.Title, c.Key, why)
			continue
		}
		r, err := runPairs(c)
		if err != nil {
			fmt.Printf("== %s  [%s]: FAILED: %v\n\n", c.Title, c.Key, err)
			failed++
			continue
		}
		var b strings.Builder
		r.report(&b)
		fmt.Println(b.String())
		rows = append(rows, r.mdRow())
		results = append(results, r)
	}
	e.closeAll()
	table := mdTable(rows, mode)
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("### Summary (%s, %s in all; load at the end %s)\n\n%s", mode, time.Since(start).Round(time.Second), strings.TrimSpace(string(load)), table)
	if *md != "" {
		if err := os.WriteFile(*md, []byte(table), 0o644); err != nil {
			fatal(err)
		}
	}
	if *jsonOut != "" {
		if err := writeJSON(*jsonOut, results); err != nil {
			fatal(err)
		}
	}
	if failed > 0 {
		os.Exit(1)
	}
}

// writeJSON saves the raw figures, for comparing two runs (before/after).
func writeJSON(path string, rs []*Result) error {
	type side struct {
		Name    string
		Ops     int
		Samples []Sample
		PeakMB  []float64 `json:",omitempty"`
	}
	type rec struct {
		Key, Title, Headline string
		Order                []string
		A, B                 side
		Wall, CPU, Inner     []float64
		Retried              []string `json:",omitempty"`
	}
	clean := func(xs []float64) []float64 { // JSON has no NaN
		out := make([]float64, len(xs))
		for i, x := range xs {
			if x == x {
				out[i] = x
			} else {
				out[i] = -1
			}
		}
		return out
	}
	var out []rec
	for _, r := range rs {
		a, b := append([]Sample(nil), r.A...), append([]Sample(nil), r.B...)
		for _, ss := range [][]Sample{a, b} {
			for i := range ss {
				if ss[i].Inner != ss[i].Inner {
					ss[i].Inner = -1
				}
			}
		}
		out = append(out, rec{Key: r.C.Key, Title: r.C.Title, Headline: r.C.Headline, Order: r.Order,
			A: side{r.C.A.Name, r.C.A.Ops, a, r.RSSA}, B: side{r.C.B.Name, r.C.B.Ops, b, r.RSSB},
			Wall: clean(r.Wall), CPU: clean(r.CPU), Inner: clean(r.Inner), Retried: r.Retried})
	}
	data, err := json.MarshalIndent(out, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "nshbench:", err)
	os.Exit(1)
}

// missing says why a comparison cannot run here ("" when it can).
func missing(c *Comparison) string {
	for _, tool := range map[string]string{"bwrap": "bwrap", "crun": "crun", "lua5.4": "lua5.4"} {
		if strings.Contains(c.A.Name+c.B.Name, tool) {
			if _, err := exec.LookPath(tool); err != nil {
				return tool + " is not installed (bench/run.sh installs it from Debian)"
			}
		}
	}
	return ""
}

// prepare builds the rootfs and the crun bundle and readies the mount
// namespace; it returns notes for the header.
func prepare(e *env) []string {
	var notes []string
	out, err := exec.Command(e.nsh, "--no-userns", "-e",
		fmt.Sprintf("rootfs.build(%q, {binaries = {'/bin/true', '/bin/sh', '/bin/umount', '/bin/mount'}})", e.rootfs())).CombinedOutput()
	if err != nil {
		fatal(fmt.Errorf("building the rootfs: %v: %s", err, out))
	}
	if err := writeBundle(filepath.Join(e.dir, "crun"), e.rootfs()); err != nil {
		fatal(err)
	}
	os.MkdirAll(filepath.Join(e.dir, "crun-state"), 0o700)
	// crun refuses a hybrid host whose cgroup2 hierarchy has controllers
	// ("cgroups in hybrid mode not supported"); it is bench-only to detach
	// it here, in our private mount namespace (nothing here uses it).
	var st unix.Statfs_t
	const unified = "/sys/fs/cgroup/unified"
	if unix.Statfs(unified, &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
		if err := unix.Unmount(unified, unix.MNT_DETACH); err == nil {
			notes = append(notes, "detached "+unified+" in the bench's private mount namespace (crun refuses hybrid cgroups)")
		}
	}
	return notes
}

// writeBundle writes an OCI bundle for the same container as nsh's
// ns.spawn{rootfs=R, proc=true, dev="minimal"} in user, pid, mount, uts,
// ipc, net and cgroup namespaces: /proc, a tmpfs /dev (crun adds the
// default nodes and links), devpts, /dev/shm, root mapped to root. Like
// nsh's start (no mask=, readonly=) and bwrap's, no masked or read-only
// paths.
func writeBundle(dir, rootfs string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	idmap := []map[string]int{{"containerID": 0, "hostID": 0, "size": 1}}
	ns := []map[string]string{}
	for _, t := range []string{"user", "pid", "mount", "uts", "ipc", "network", "cgroup"} {
		ns = append(ns, map[string]string{"type": t})
	}
	cfg := map[string]any{
		"ociVersion": "1.0.2",
		"process": map[string]any{
			"terminal": false, "user": map[string]int{"uid": 0, "gid": 0},
			"args": []string{"/bin/true"}, "env": []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}, "cwd": "/",
			"noNewPrivileges": true,
		},
		"root": map[string]any{"path": rootfs, "readonly": false},
		"mounts": []map[string]any{
			{"destination": "/proc", "type": "proc", "source": "proc"},
			{"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}},
			{"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
		},
		"linux": map[string]any{
			"namespaces": ns, "uidMappings": idmap, "gidMappings": idmap,
		},
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644)
}

// header describes the machine and the tools.
func header(mode string, notes []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "nshbench (%s) %s\n", mode, time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	var u unix.Utsname
	unix.Uname(&u)
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Fprintf(&b, "kernel %s, %d CPUs, load %s", unix.ByteSliceToString(u.Release[:]), runtime.NumCPU(), load)
	if out, err := exec.Command("git", "log", "-1", "--format=%h %s").Output(); err == nil {
		fmt.Fprintf(&b, "nsh: the checkout at %s\n", cut(strings.TrimSpace(string(out)), 100))
	}
	for _, v := range [][]string{{"bwrap", "--version"}, {"crun", "--version"}, {"lua5.4", "-v"}, {"unshare", "--version"}} {
		out, err := exec.Command(v[0], v[1:]...).CombinedOutput()
		if err == nil {
			fmt.Fprintf(&b, "%s: %s\n", v[0], strings.SplitN(strings.TrimSpace(string(out)), "\n", 2)[0])
		}
	}
	for _, n := range notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	b.WriteString("Every comparison runs its two sides in pairs, alternating which goes first; ratios are A/B per pair\n" +
		"(lower is better for nsh); the figures are medians with their quartiles (IQR) and extremes.\n\n")
	return b.String()
}

func cut(s string, n int) string {
	if len(s) > n {
		return s[:n-3] + "..."
	}
	return s
}

// mdTable is the summary as the README's table.
func mdTable(rows []string, mode string) string {
	var b strings.Builder
	b.WriteString("| work | A (nsh) per op | B (peer) per op | A/B median (IQR, range) | CPU A/B median (IQR) | pairs |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- |\n")
	for _, r := range rows {
		b.WriteString(r + "\n")
	}
	return b.String()
}
