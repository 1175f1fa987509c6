package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// env is what the comparisons need: the binaries and a work directory with
// the container rootfs (and the crun bundle next to it).
type env struct {
	nsh, self  string // the nsh binary; this program (for its golab side)
	dir        string // work directory: rootfs/, crun/ (bundle), crun-state/
	benchDir   string // bench/, for its shell scripts
	mode       string // "full", "quick" or "smoke"
	labID      string // unique lab name prefix for the node:run server
	nodeServer *server
}

// size picks a figure by mode.
func (e *env) size(full, quick, smoke int) int {
	switch e.mode {
	case "quick":
		return quick
	case "smoke":
		return smoke
	}
	return full
}

func (e *env) rootfs() string { return filepath.Join(e.dir, "rootfs") }

// procInner is a side of one process per run that reports "inner MS".
func procInner(argv func() []string) func(int) (Sample, error) {
	return func(ops int) (Sample, error) {
		s, out, err := runProc(argv(), nil)
		s.Ops = ops
		if err != nil {
			return s, err
		}
		return s, parseInner(out, &s)
	}
}

const containerNS = "user,pid,mnt,uts,ipc,net,cgroup"

// containerLua starts OPS containers from one nsh (the rootfs is %q).
const containerLua = `
local R = %q
local t0 = sys.now()
for _ = 1, OPS do
  local h = ns.spawn{'/bin/true', ns = '` + containerNS + `', uid_map = '0 0 1', gid_map = '0 0 1',
    rootfs = R, proc = true, dev = 'minimal'}
  assert(h:wait() == 0, 'container failed')
end
io.write(string.format('inner %%.4f\n', (sys.now() - t0) * 1000))
`

// loopLua times OPS runs of the Lua expression %s, which returns a handle.
const loopLua = `
local t0 = sys.now()
for _ = 1, OPS do
  local code = (%s):wait()
  assert(code == 0, 'exit ' .. tostring(code))
end
io.write(string.format('inner %%.4f\n', (sys.now() - t0) * 1000))
`

// nodeServerLua builds a pinned lab of one node (lab name %q) and runs
// batches of node:run{'/bin/true'} on request.
const nodeServerLua = `
local name = %q
local lab = net.lab{name = name, pin = true, helpers = false}
local nd = lab:node('n1')
io.write('ready ' .. name .. '-n1\n'); io.stdout:flush()
while true do
  local l = io.read('*l')
  if l == nil or l == 'q' then break end
  local n = assert(tonumber(l), 'a number of runs expected')
  local t0 = sys.now()
  for _ = 1, n do
    local _, code = nd:run{'/bin/true'}
    assert(code == 0, 'node:run exit ' .. tostring(code))
  end
  io.write(string.format('inner %%.4f\n', (sys.now() - t0) * 1000)); io.stdout:flush()
end
lab:close()
`

// comparisons is the whole table, in the order make bench runs it.
func comparisons(e *env) []*Comparison {
	R := e.rootfs()
	spawnNS := "pid,mnt,uts,ipc,net"
	var cs []*Comparison
	add := func(c *Comparison) { cs = append(cs, c) }

	nshContainers := Side{Name: "nsh: one nsh doing ns.spawn{rootfs=, proc, dev=minimal}",
		Ops: e.size(50, 10, 2), Run: nshRun(e.nsh, fmt.Sprintf(containerLua, R))}
	add(&Comparison{Key: "container-bwrap", Headline: "wall",
		Title: "container start (" + containerNS + ", pivot_root, /proc, minimal /dev, /bin/true): nsh vs bubblewrap",
		A:     nshContainers,
		B: Side{Name: "bwrap --unshare-all --bind R / --dev /dev --proc /proc /bin/true", Ops: e.size(50, 10, 2),
			Run: procLoop(fixed("bwrap", "--unshare-all", "--bind", R, "/", "--dev", "/dev", "--proc", "/proc", "/bin/true"))},
		Pairs: e.size(21, 3, 2), Warm: e.size(1, 1, 0),
		Note: "A is one nsh process starting Ops containers (its start-up is in its wall/CPU, spread over them); inner is its own loop time"})
	add(&Comparison{Key: "container1-bwrap", Headline: "wall",
		Title: "one container per process (nsh's start-up included): nsh -e 'ns.spawn{...}' vs bubblewrap",
		A: Side{Name: "nsh -e 'ns.spawn{rootfs=, proc, dev=minimal}:wait()'", Ops: e.size(20, 5, 2),
			Run: procLoop(fixed(e.nsh, "--no-userns", "-e", fmt.Sprintf(`assert(ns.spawn{'/bin/true', ns = '%s', uid_map = '0 0 1', gid_map = '0 0 1', rootfs = %q, proc = true, dev = 'minimal'}:wait() == 0)`, containerNS, R)))},
		B: Side{Name: "bwrap --unshare-all --bind R / --dev /dev --proc /proc /bin/true", Ops: e.size(20, 5, 2),
			Run: procLoop(fixed("bwrap", "--unshare-all", "--bind", R, "/", "--dev", "/dev", "--proc", "/proc", "/bin/true"))},
		Pairs: e.size(15, 3, 2), Warm: e.size(1, 1, 0)})
	crunID := 0
	add(&Comparison{Key: "container-crun", Headline: "wall",
		Title: "container start: nsh vs crun (OCI bundle on the same rootfs, same namespaces and mounts, no cgroup manager)",
		A:     nshContainers,
		B: Side{Name: "crun --cgroup-manager=disabled run --bundle B ID", Ops: e.size(50, 10, 2),
			Run: procLoop(func(int) []string {
				crunID++
				return []string{"crun", "--root", filepath.Join(e.dir, "crun-state"), "--cgroup-manager=disabled",
					"run", "--bundle", filepath.Join(e.dir, "crun"), fmt.Sprintf("nshbench-%d-%d", os.Getpid(), crunID)}
			})},
		Pairs: e.size(15, 3, 2), Warm: e.size(1, 1, 0)})
	add(&Comparison{Key: "container-unshare", Headline: "wall",
		Title: "container start: nsh vs unshare(1) + a shell script doing the same mounts",
		A:     Side{Name: nshContainers.Name, Ops: e.size(10, 5, 2), Run: nshContainers.Run},
		B: Side{Name: "unshare --user --map-root-user ... --cgroup sh container-setup.sh R", Ops: e.size(10, 5, 2),
			Run: procLoop(fixed("unshare", "--user", "--map-root-user", "--pid", "--fork", "--mount", "--uts", "--ipc", "--net", "--cgroup",
				"sh", filepath.Join(e.benchDir, "container-setup.sh"), R))},
		Pairs: e.size(9, 3, 2), Warm: e.size(1, 0, 0)})

	k := e.size(50, 10, 2)
	add(&Comparison{Key: "clone-spawn", Headline: "inner",
		Title: "ns.clone of a Lua function into pid,uts vs ns.spawn of /bin/true there (both in one nsh)",
		A: Side{Name: "ns.clone('pid,uts', function() return 0 end)", Ops: k,
			Run: nshRun(e.nsh, fmt.Sprintf(loopLua, "ns.clone('pid,uts', function() return 0 end)"))},
		B: Side{Name: "ns.spawn{'/bin/true', ns = 'pid,uts'}", Ops: k,
			Run: nshRun(e.nsh, fmt.Sprintf(loopLua, "ns.spawn{'/bin/true', ns = 'pid,uts'}"))},
		Pairs: e.size(21, 3, 2), Warm: e.size(1, 1, 0),
		Note: "the headline is the inner ratio (each nsh's own loop time, without its start-up); wall and CPU include one nsh start-up per run"})

	// A clone's cost should not grow with the script it is in: the
	// child gets the chunk compiled (lua/protowire.go), not its source to
	// compile again. The large chunk is scripts/lwn.lua's text, never run.
	if lwn, err := os.ReadFile(filepath.Join(e.benchDir, "..", "scripts", "lwn.lua")); err == nil {
		src := string(lwn)
		if strings.HasPrefix(src, "#!") { // a shebang is a script's first line, not Lua
			_, src, _ = strings.Cut(src, "\n")
		}
		large := "if false then\n" + src + "\nend\n"
		clone := "ns.clone('pid,uts', function() return 0 end)"
		add(&Comparison{Key: "clone-largechunk", Headline: "inner",
			Title: "ns.clone from a chunk the size of scripts/lwn.lua (its 293 lines, never run) vs from the 6-line loop alone",
			A:     Side{Name: "ns.clone in lwn.lua's text + the loop", Ops: k, Run: nshRun(e.nsh, large+fmt.Sprintf(loopLua, clone))},
			B:     Side{Name: "ns.clone in the loop", Ops: k, Run: nshRun(e.nsh, fmt.Sprintf(loopLua, clone))},
			Pairs: e.size(11, 3, 2), Warm: e.size(1, 1, 0),
			Note: "1.0x is the goal: the child rebuilds the chunk's compiled prototypes; it compiled the whole source again before (1.4-1.7x)"})
	}

	// The floor of ns.clone: any re-executed nsh child (here for a
	// hostname, no Lua at all) against the direct start of the same program.
	add(&Comparison{Key: "reexec-spawn", Headline: "inner",
		Title: "the floor of ns.clone: a re-executed nsh child (hostname step, no Lua) vs ns.spawn of /bin/true in pid,uts (both in one nsh)",
		A: Side{Name: "ns.spawn{'/bin/true', ns = 'pid,uts', hostname = 'x'}", Ops: k,
			// NSH_REEXEC_CHILD=1: a hostname alone would take the raw start (no nsh in the child)
			Run: nshRunEnv(e.nsh, fmt.Sprintf(loopLua, "ns.spawn{'/bin/true', ns = 'pid,uts', hostname = 'x'}"), []string{"NSH_REEXEC_CHILD=1"})},
		B: Side{Name: "ns.spawn{'/bin/true', ns = 'pid,uts'}", Ops: k,
			Run: nshRun(e.nsh, fmt.Sprintf(loopLua, "ns.spawn{'/bin/true', ns = 'pid,uts'}"))},
		Pairs: e.size(15, 3, 2), Warm: e.size(1, 1, 0),
		Note: "a hostname needs nsh code in the child, so the child is nsh re-executed: its Go runtime and package initialisation, no Lua session"})

	k = e.size(20, 5, 2)
	add(&Comparison{Key: "startup", Headline: "wall",
		Title: "start-up: nsh -e '' vs lua5.4 -e ''",
		A:     Side{Name: "nsh -e ''", Ops: k, Run: procLoop(fixed(e.nsh, "-e", "")), Argv: []string{e.nsh, "-e", ""}},
		B:     Side{Name: "lua5.4 -e ''", Ops: k, Run: procLoop(fixed("lua5.4", "-e", "")), Argv: []string{"lua5.4", "-e", ""}},
		Pairs: e.size(21, 3, 2), Warm: e.size(1, 1, 0), PeakRSS: e.size(5, 3, 1)})

	// The floor of the start-up figures: an empty Go program (bench/floor,
	// built by run.sh next to nshbench), and nsh doing everything but make
	// a Lua session (--version: the runtime, every package's
	// initialisation, the 7 MB binary's page faults).
	if floor := filepath.Join(filepath.Dir(e.self), "gofloor"); fileExists(floor) {
		add(&Comparison{Key: "startup-floor", Headline: "wall",
			Title: "start-up floor: an empty Go program (bench/floor, static like nsh) vs lua5.4 -e ''",
			A:     Side{Name: "empty Go program", Ops: k, Run: procLoop(fixed(floor)), Argv: []string{floor}},
			B:     Side{Name: "lua5.4 -e ''", Ops: k, Run: procLoop(fixed("lua5.4", "-e", "")), Argv: []string{"lua5.4", "-e", ""}},
			Pairs: e.size(15, 3, 2), Warm: e.size(1, 1, 0), PeakRSS: e.size(5, 3, 1)})
	}
	add(&Comparison{Key: "startup-nosession", Headline: "wall",
		Title: "start-up without a Lua session: nsh --version vs lua5.4 -e ''",
		A:     Side{Name: "nsh --version", Ops: k, Run: procLoop(fixed(e.nsh, "--version")), Argv: []string{e.nsh, "--version"}},
		B:     Side{Name: "lua5.4 -e ''", Ops: k, Run: procLoop(fixed("lua5.4", "-e", "")), Argv: []string{"lua5.4", "-e", ""}},
		Pairs: e.size(15, 3, 2), Warm: e.size(1, 1, 0), PeakRSS: e.size(5, 3, 1)})

	k = e.size(50, 10, 2)
	add(&Comparison{Key: "spawn-unshare", Headline: "wall",
		Title: "/bin/true in new " + spawnNS + ": ns.spawn (one nsh) vs unshare --fork --pid --mount --uts --ipc --net",
		A: Side{Name: fmt.Sprintf("ns.spawn{'/bin/true', ns = '%s'}", spawnNS), Ops: k,
			Run: nshRun(e.nsh, fmt.Sprintf(loopLua, fmt.Sprintf("ns.spawn{'/bin/true', ns = '%s'}", spawnNS)))},
		B: Side{Name: "unshare --fork --pid --mount --uts --ipc --net /bin/true", Ops: k,
			Run: procLoop(fixed("unshare", "--fork", "--pid", "--mount", "--uts", "--ipc", "--net", "/bin/true"))},
		Pairs: e.size(21, 3, 2), Warm: e.size(1, 1, 0),
		Note: "A is one nsh process doing Ops spawns (its start-up is in its wall/CPU, spread over them); B is Ops unshare processes"})
	if e.mode != "smoke" {
		add(&Comparison{Key: "spawn-unshare-user", Headline: "wall",
			Title: "the same with a user namespace (map 0 0 1) vs unshare --user --map-root-user ...",
			A: Side{Name: fmt.Sprintf("ns.spawn{..., ns = 'user,%s', uid_map/gid_map '0 0 1'}", spawnNS), Ops: k,
				Run: nshRun(e.nsh, fmt.Sprintf(loopLua, fmt.Sprintf("ns.spawn{'/bin/true', ns = 'user,%s', uid_map = '0 0 1', gid_map = '0 0 1'}", spawnNS)))},
			B: Side{Name: "unshare --user --map-root-user --fork --pid --mount --uts --ipc --net /bin/true", Ops: k,
				Run: procLoop(fixed("unshare", "--user", "--map-root-user", "--fork", "--pid", "--mount", "--uts", "--ipc", "--net", "/bin/true"))},
			Pairs: e.size(15, 3, 2), Warm: e.size(1, 1, 0)})
	}

	if e.mode != "smoke" {
		sizes := []int{10, 100, 1000}
		if e.mode == "quick" {
			sizes = []int{10, 100}
		}
		for _, n := range sizes {
			n := n
			pairs := map[int]int{10: 25, 100: 11, 1000: 5}[n]
			c := &Comparison{Key: fmt.Sprintf("lab%d-go", n), Headline: "inner",
				Title: fmt.Sprintf("lab N=%d (nodes on one bridge, wait, one ping, close): nsh net.lab vs plain Go over runtime/netlab", n),
				A:     Side{Name: fmt.Sprintf("nsh net.lab{pin = false, helpers = false}, N=%d", n), Ops: 1, Run: nshRun(e.nsh, fmt.Sprintf(labLua, n))},
				B:     Side{Name: fmt.Sprintf("nshbench golab %d (the same calls from Go)", n), Ops: 1, Run: procInner(func() []string { return []string{e.self, "golab", fmt.Sprint(n)} })},
				Pairs: e.size(pairs, 3, 1), Warm: e.size(1, 0, 0),
				Note: "the headline is the inner ratio: setup+ping+close as each side times it, without its process start-up; neither waits for the kernel's asynchronous namespace cleanup"}
			if n >= 1000 {
				c.Warm = 0
				c.Settle = time.Second // let the kernel's cleanup of the last 1000 namespaces pass
			} else if n >= 100 {
				c.Settle = 200 * time.Millisecond
			}
			add(c)
		}
		for _, n := range sizes[1:] {
			n := n
			c := &Comparison{Key: fmt.Sprintf("lab%d-opts", n), Headline: "inner",
				Title: fmt.Sprintf("lab N=%d (build, sampled pingall, close): net.lab's defaults (pins, helpers) vs pin = false, helpers = false", n),
				A:     Side{Name: fmt.Sprintf("nsh net.lab{} (pinned, nsenter.sh per node), N=%d", n), Ops: 1, Run: nshRun(e.nsh, fmt.Sprintf(labOptsLua, n, ""))},
				B: Side{Name: fmt.Sprintf("nsh net.lab{pin = false, helpers = false}, N=%d", n), Ops: 1,
					Run: nshRun(e.nsh, fmt.Sprintf(labOptsLua, n, ", pin = false, helpers = false"))},
				Pairs: e.size(map[int]int{100: 11, 1000: 5}[n], 3, 1), Settle: 200 * time.Millisecond,
				Note: "issue 13's goal: the defaults within 1.5x of the bare lab; the kernel's cleanup of the namespaces comes after close"}
			if n >= 1000 {
				c.Settle = time.Second
			}
			add(c)
		}
		for _, n := range []int{10, 100} {
			n := n
			add(&Comparison{Key: fmt.Sprintf("lab%d-ip", n), Headline: "inner",
				Title: fmt.Sprintf("lab N=%d: nsh net.lab vs a tuned shell loop of ip(8) (5 commands a node)", n),
				A:     Side{Name: fmt.Sprintf("nsh net.lab, N=%d", n), Ops: 1, Run: nshRun(e.nsh, fmt.Sprintf(labLua, n))},
				B: Side{Name: fmt.Sprintf("bench/iplab.sh %d (ip loop in unshare -n -m)", n), Ops: 1,
					Run: procInner(func() []string { return []string{"bash", filepath.Join(e.benchDir, "iplab.sh"), fmt.Sprint(n), e.nsh} })},
				Pairs: e.size(map[int]int{10: 7, 100: 5}[n], 2, 1), Settle: 200 * time.Millisecond,
				Note: "the ip loop's ping is nsh's net.ping started inside the node (no ping(8) here), so it includes one nsh start-up"})
		}

		k = e.size(100, 20, 2)
		nodeRun := Side{Name: "node:run{'/bin/true'} (one nsh holding the lab)", Ops: k,
			Run:     func(ops int) (Sample, error) { return e.nodeServer.Run(ops) },
			CPUNote: "from /proc/PID/stat (utime+stime+cutime+cstime) of the nsh holding the lab: 10 ms ticks"}
		startNode := func() error {
			if e.nodeServer != nil {
				return nil
			}
			s, err := startServer(e.nsh, fmt.Sprintf(nodeServerLua, e.labID))
			e.nodeServer = s
			return err
		}
		add(&Comparison{Key: "noderun-ipnetns", Headline: "wall", Setup: startNode,
			Title: "one command in an existing lab node: node:run vs ip netns exec",
			A:     nodeRun,
			B: Side{Name: "ip netns exec LAB-n1 /bin/true", Ops: k,
				Run: procLoop(func(int) []string { return []string{"ip", "netns", "exec", e.nodeServer.Ready, "/bin/true"} })},
			Pairs: e.size(15, 3, 2), Warm: 1})
		add(&Comparison{Key: "noderun-nsenter", Headline: "wall", Setup: startNode,
			Title: "one command in an existing lab node: node:run vs nsenter --net",
			A:     nodeRun,
			B: Side{Name: "nsenter --net=/run/netns/LAB-n1 /bin/true", Ops: k,
				Run: procLoop(func(int) []string { return []string{"nsenter", "--net=/run/netns/" + e.nodeServer.Ready, "/bin/true"} })},
			Pairs: e.size(15, 3, 2), Warm: 1})
	}
	return cs
}

// closeAll ends what the comparisons left running.
func (e *env) closeAll() {
	if e.nodeServer != nil {
		e.nodeServer.Close()
		e.nodeServer = nil
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
