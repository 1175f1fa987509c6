package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"time"

	"nsh/runtime/netlab"
)

// labAddr gives node i (0-based) an address in 10.53.0.0/16 (room for 1000),
// the same as the Lua side's addr(i).
func labAddr(i int) string { return fmt.Sprintf("10.53.%d.%d", 57+(i+21)/250, 1+(i+21)%250) }

// goLab is the plain Go side of the lab comparison: the same work as the
// nsh script labLua (a lab of n nodes on one bridge, unpinned, in an outer
// namespace of its own; wait for links and forwarding; one ping from the
// first node to the last; close), over the same runtime/netlab code, without
// Lua. It prints "inner MS setup=MS ping=MS close=MS".
func goLab(args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: nshbench golab N")
		return 2
	}
	n, err := strconv.Atoi(args[0])
	if err != nil || n < 1 || n > 1000 {
		fmt.Fprintln(os.Stderr, "golab: N must be 1..1000")
		return 2
	}
	runtime.LockOSThread() // as nsh's interpreter thread is
	t0 := time.Now()
	l, err := netlab.NewLab(netlab.LabOptions{Name: "bench"})
	if err != nil {
		fmt.Fprintln(os.Stderr, "golab:", err)
		return 1
	}
	fail := func(what string, err error) int {
		l.Close()
		fmt.Fprintf(os.Stderr, "golab: %s: %v\n", what, err)
		return 1
	}
	if err := l.AddBridge("br0", "10.53.57.11/16"); err != nil {
		return fail("bridge", err)
	}
	var first *netlab.Node
	for j := 0; j < n; j++ {
		nd, err := l.AddNode(netlab.NodeOptions{Name: fmt.Sprint("n", j)})
		if err != nil {
			return fail(fmt.Sprint("node ", j), err)
		}
		if err := l.Link(nd, netlab.LinkOptions{Bridge: "br0", IfName: "eth0", BrName: fmt.Sprint("v", j), CIDR: labAddr(j) + "/16"}); err != nil {
			return fail(fmt.Sprint("link ", j), err)
		}
		if j == 0 {
			first = nd
		}
	}
	if err := l.Wait(10 * time.Second); err != nil {
		return fail("wait", err)
	}
	t1 := time.Now()
	fns, err := first.Open()
	if err != nil {
		return fail("open", err)
	}
	_, err = netlab.Ping(fns, labAddr(n-1), 1, 5*time.Second)
	fns.Close()
	if err != nil {
		return fail("ping", err)
	}
	t2 := time.Now()
	if err := l.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "golab: close:", err)
		return 1
	}
	t3 := time.Now()
	fmt.Printf("inner %.4f setup=%.4f ping=%.4f close=%.4f\n", ms(t3.Sub(t0)), ms(t1.Sub(t0)), ms(t2.Sub(t1)), ms(t3.Sub(t2)))
	return 0
}

// labLua is the nsh side of the lab comparison (OPS is set, N is %d).
const labLua = `
local n = %d
local function addr(i) return string.format('10.53.%%d.%%d', 57 + math.floor((i + 21) / 250), 1 + (i + 21) %% 250) end
local t0 = sys.now()
local lab = net.lab{name = 'bench', pin = false, helpers = false}
lab:bridge('br0', '10.53.57.11/16')
for j = 0, n - 1 do
  local nd = lab:node('n' .. j)
  lab:link(nd, 'br0', {ifname = 'eth0', brname = 'v' .. j, addr = addr(j) .. '/16'})
end
lab:wait()
local t1 = sys.now()
local rtts, err = lab.n0:ping(addr(n - 1), {timeout = 5})
assert(#rtts == 1, err)
local t2 = sys.now()
lab:close()
local t3 = sys.now()
io.write(string.format('inner %%.4f setup=%%.4f ping=%%.4f close=%%.4f\n', (t3 - t0) * 1000, (t1 - t0) * 1000, (t2 - t1) * 1000, (t3 - t2) * 1000))
`

// labOptsLua is a lab of N nodes (N is %d) with the net.lab options %s,
// checked with a sampled pingall (every node pings 2 others, neighbour
// entries written, as pingall does above 128 nodes) and closed: the lab*-opts
// comparisons run it with net.lab's defaults (pins and helpers for root)
// against pin = false, helpers = false. Prints "inner MS build= ping= close=".
const labOptsLua = `
local n = %d
local function addr(i) return string.format('10.53.%%d.%%d', 57 + math.floor((i + 21) / 250), 1 + (i + 21) %% 250) end
local t0 = sys.now()
local lab = net.lab{name = 'benchopt'%s}
lab:bridge('br0', '10.53.57.11/16')
for j = 0, n - 1 do
  local nd = lab:node('n' .. j)
  lab:link(nd, 'br0', {ifname = 'eth0', brname = 'v' .. j, addr = addr(j) .. '/16'})
end
lab:wait()
local t1 = sys.now()
local r = lab:pingall{sample = 2, seed = 1, neigh = 'static'}
assert(#r.failed == 0, r.failed[1])
local t2 = sys.now()
lab:close()
local t3 = sys.now()
io.write(string.format('inner %%.4f build=%%.4f ping=%%.4f close=%%.4f\n', (t3 - t0) * 1000, (t1 - t0) * 1000, (t2 - t1) * 1000, (t3 - t2) * 1000))
`
