package main

import (
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// benchProcess runs argv once per iteration and reports its CPU time
// (user+sys from wait4) next to the wall time.
func benchProcess(b *testing.B, argv ...string) {
	var cpu time.Duration
	for b.Loop() {
		c := exec.Command(argv[0], argv[1:]...)
		if out, err := c.CombinedOutput(); err != nil {
			b.Fatalf("%v: %v: %s", argv, err, out)
		}
		ru := c.ProcessState.SysUsage().(*syscall.Rusage)
		cpu += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// BenchmarkStartup is `nsh -e ""`: the runtime, the package inits, a
// session (modules are installed on first use) and its end.
func BenchmarkStartup(b *testing.B) { benchProcess(b, nshBin, "--no-userns", "-e", "") }

// BenchmarkStartupModules is `nsh -e 'help()'`-like work without output:
// the start-up plus installing every module (what a script that uses them
// all pays).
func BenchmarkStartupModules(b *testing.B) {
	benchProcess(b, nshBin, "--no-userns", "-e", "local _ = ns, sys, view, cgroup, mount, rootfs, net, json")
}

// BenchmarkStartupNoSession is `nsh --version`: the runtime and every
// package's initialisation, no Lua session.
func BenchmarkStartupNoSession(b *testing.B) { benchProcess(b, nshBin, "--version") }
