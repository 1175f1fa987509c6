package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"
)

// peakRSS runs argv once and returns its peak resident set in KiB: VmHWM
// of /proc/PID/status read when the process is about to exit (stopped by
// ptrace at PTRACE_EVENT_EXIT, before its memory is released).
//
// wait4's ru_maxrss cannot be used for this: Go starts a child with
// CLONE_VM|CLONE_VFORK, and at execve the kernel records the high-water
// mark of the memory the child leaves, the harness's own, as the child's
// maxrss; every small program would show the harness's size.
func peakRSS(argv []string) (int64, error) {
	runtime.LockOSThread() // ptrace requests must come from the tracing thread
	defer runtime.UnlockOSThread()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Ptrace: true}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	pid := cmd.Process.Pid
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(pid, &ws, 0, nil); err != nil { // the stop at execve
		return 0, err
	}
	if err := syscall.PtraceSetOptions(pid, syscall.PTRACE_O_TRACEEXIT); err != nil {
		cmd.Process.Kill()
		syscall.Wait4(pid, &ws, 0, nil)
		return 0, fmt.Errorf("ptrace: %v", err)
	}
	var hwm int64 = -1
	sig := 0
	for {
		if err := syscall.PtraceCont(pid, sig); err != nil && err != syscall.ESRCH {
			return 0, fmt.Errorf("ptrace cont: %v", err)
		}
		if _, err := syscall.Wait4(pid, &ws, 0, nil); err != nil {
			return 0, err
		}
		if ws.Exited() || ws.Signaled() {
			break
		}
		sig = 0
		if ws.Stopped() {
			if ws.StopSignal() == syscall.SIGTRAP && ws.TrapCause() == syscall.PTRACE_EVENT_EXIT {
				hwm = vmHWM(pid)
			} else if ws.StopSignal() != syscall.SIGTRAP {
				sig = int(ws.StopSignal()) // deliver the program's own signals
			}
		}
	}
	if ws.Exited() && ws.ExitStatus() != 0 {
		return hwm, fmt.Errorf("%v: exit %d", argv, ws.ExitStatus())
	}
	if hwm < 0 {
		return 0, fmt.Errorf("%v: no exit stop seen", argv)
	}
	return hwm, nil
}

// vmHWM reads the VmHWM line (KiB) of /proc/PID/status; -1 if absent.
func vmHWM(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, l := range bytes.Split(b, []byte("\n")) {
		if v, ok := bytes.CutPrefix(l, []byte("VmHWM:")); ok {
			f := bytes.Fields(v)
			if len(f) > 0 {
				n, err := strconv.ParseInt(string(f[0]), 10, 64)
				if err == nil {
					return n
				}
			}
		}
	}
	return -1
}
