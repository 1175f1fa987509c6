package nsproc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"nsh/runtime/kerr"
	"nsh/runtime/sigs"

	"golang.org/x/sys/unix"
)

// Process is a child started by Start: a handle to wait on, signal, and (when
// held) prepare before it runs.
type Process struct {
	Pid   int
	Argv  []string
	Types Set // the namespaces it was created in
	Start time.Time
	// OwnPgroup: the child leads a process group of its own.
	OwnPgroup bool

	cmd      *exec.Cmd
	osp      *os.Process // a child started without exec.Cmd (set_tid, raw set-up)
	raw      *rawChild   // a raw set-up, until the child executed or failed
	ctl      *os.File    // parent's end of the control pipe (nil for direct children)
	res      *os.File    // parent's end of the result pipe
	held     bool
	released bool
	serve    bool // the child answers requests on ctl after the go-ahead (a payload child)
	kept     bool
	signaled bool

	done   chan struct{}
	state  *os.ProcessState
	result []byte // what a re-executed child sent back
	resErr string
	mu     sync.Mutex

	pidf  *os.File // nsh's pidfd of the child until reaped (exitwait.go)
	pidMu sync.RWMutex
}

// Status is how a child ended.
type Status struct {
	Exited   bool
	Code     int    // exit code, or 128+signal when signaled
	Signal   string // "SIGKILL" when killed by a signal
	Core     bool
	Result   []byte // values a re-executed child returned (opaque)
	ErrorMsg string // the error a re-executed child died of
}

// Done is closed when the child has been reaped.
func (p *Process) Done() <-chan struct{} { return p.done }

// Alive reports whether the child has not been reaped yet.
func (p *Process) Alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Held reports whether the child is waiting for Release.
func (p *Process) Held() bool { return p.held && !p.released }

// Release lets a held child go on.
func (p *Process) Release() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ctl == nil || p.released {
		return nil
	}
	p.released = true
	err := p.send(goAhead)
	if !p.serve || err != nil {
		p.ctl.Close()
		p.ctl = nil
	}
	if err != nil {
		return fmt.Errorf("release child %d: it is no longer waiting (%v)", p.Pid, err)
	}
	return nil
}

// Keep asks a payload child (a re-executed nsh running a function) to
// clear its parent-death signal, so that it outlives nsh. The kernel has
// no call that clears another process's (PR_SET_PDEATHSIG sets the
// calling thread's own), so only a child that runs nsh code can do it:
// one that executed a program cannot be asked (ErrNoKeep).
func (p *Process) Keep() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.kept {
		return nil
	}
	if !p.servesRequests() {
		return ErrNoKeep
	}
	if err := p.send(keepReq); err != nil {
		if errors.Is(err, unix.EPIPE) {
			return fmt.Errorf("child %d no longer runs nsh (it called sys.exec, or is ending): %w", p.Pid, ErrNoKeep)
		}
		return fmt.Errorf("child %d: the keep request: %w", p.Pid, err)
	}
	p.ctl.SetReadDeadline(time.Now().Add(15 * time.Second)) // the child answers once its set-up is done
	defer p.ctl.SetReadDeadline(time.Time{})
	var r keepReply
	if err := readFrame(p.ctl, &r); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("child %d no longer runs nsh (it called sys.exec, or is ending): %w", p.Pid, ErrNoKeep)
		}
		return fmt.Errorf("child %d did not answer the keep request: %w", p.Pid, err)
	}
	if r.Error != "" {
		return fmt.Errorf("child %d: %s", p.Pid, r.Error)
	}
	p.kept = true
	return nil
}

// RequestStop asks a payload child (a re-executed nsh running a
// function) to stop its function and undo what it made, then end; it
// does not wait. A child that cannot be asked (held, direct, or one
// that executed a program) gives ErrNoKeep: end it with a signal.
func (p *Process) RequestStop() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.servesRequests() {
		return ErrNoKeep
	}
	if err := p.send(stopReq); err != nil {
		return fmt.Errorf("child %d: the stop request: %v: %w", p.Pid, err, ErrNoKeep)
	}
	return nil
}

// servesRequests: the child runs a payload, was released, and its control
// channel is still open, so it reads requests (p.mu held).
func (p *Process) servesRequests() bool { return p.serve && p.ctl != nil && p.released }

// send writes one request byte on the control channel with MSG_NOSIGNAL:
// a child that executed a program closed its end (close-on-exec), and a
// plain write(2) would then raise SIGPIPE in nsh, which the nsh the user
// started takes as the reader of its output going away, and ends. (A raw
// start's go-ahead is a pipe, written once while the child waits for it.)
func (p *Process) send(b byte) error {
	rc, err := p.ctl.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Write(func(fd uintptr) bool {
		serr = unix.Sendto(int(fd), []byte{b}, unix.MSG_NOSIGNAL|unix.MSG_DONTWAIT, nil)
		return serr != unix.EAGAIN
	}); err != nil {
		return err
	}
	if serr == unix.ENOTSOCK {
		_, err := p.ctl.Write([]byte{b})
		return err
	}
	if serr != nil {
		return os.NewSyscallError("sendto", serr)
	}
	return nil
}

// ErrNoKeep: the child runs a program of its own (execve), not nsh, and no
// kernel interface clears another process's parent-death signal.
var ErrNoKeep = errors.New("the child executed a program: its parent-death signal (PR_SET_PDEATHSIG, SIGKILL when nsh ends) can only be cleared by the process itself, and no kernel interface (prctl, /proc, pidfd) clears another process's")

// abort makes a held child exit without running anything.
func (p *Process) abort() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ctl != nil {
		p.ctl.Close()
		p.ctl = nil
		p.released = true
	}
}

// Signal sends sig to the child (through its pidfd where the kernel has
// them, so a recycled pid is never hit).
func (p *Process) Signal(sig unix.Signal) error {
	if !p.Alive() {
		return fmt.Errorf("kill(%d, %s): the process has already exited and been reaped", p.Pid, sigs.Name(sig))
	}
	p.signaled = true
	err := p.process().Signal(syscall.Signal(sig))
	if errors.Is(err, os.ErrProcessDone) {
		return nil
	}
	return kerr.New(fmt.Sprintf("kill(%d, %s)", p.Pid, sigs.Name(sig)), err, kerr.Rules{
		{Errno: unix.EPERM, Rule: "signalling a process needs the same real or effective uid, or CAP_KILL"},
	})
}

func (p *Process) process() *os.Process {
	if p.cmd != nil {
		return p.cmd.Process
	}
	return p.osp
}

// Wait blocks until the child exits or ctx ends (then it returns ctx.Err()
// and the child keeps running).
func (p *Process) Wait(ctx context.Context) (Status, error) {
	if p.Held() && !p.signaled {
		return Status{}, fmt.Errorf("process %d is held before it runs: release it first (h:release()), or it would wait forever", p.Pid)
	}
	select {
	case <-p.done:
	case <-ctx.Done():
		return Status{}, ctx.Err()
	}
	return p.Status(), nil
}

// Status is the exit status of a reaped child (zero value while alive).
func (p *Process) Status() Status {
	select {
	case <-p.done:
	default:
		return Status{}
	}
	st := Status{Result: p.result, ErrorMsg: p.resErr}
	if p.state == nil {
		st.Code = -1
		return st
	}
	ws, ok := p.state.Sys().(syscall.WaitStatus)
	switch {
	case !ok:
		st.Exited, st.Code = true, p.state.ExitCode()
	case ws.Signaled():
		st.Signal = sigs.Name(unix.Signal(ws.Signal()))
		st.Code = 128 + int(ws.Signal())
		st.Core = ws.CoreDump()
	default:
		st.Exited, st.Code = true, ws.ExitStatus()
	}
	return st
}

// reap waits for the child in the background. Waiting does not depend on
// the thread's namespaces: any thread of nsh may reap its children.
func (p *Process) reap() {
	var resBytes []byte
	var resDone chan struct{}
	if p.res != nil {
		resDone = make(chan struct{})
		go func() {
			resBytes = readResult(p.res)
			p.res.Close()
			close(resDone)
		}()
	}
	var rawErr string
	if p.raw != nil {
		rawErr = p.raw.watch() // first: its error is printed before the child is reaped
	}
	var state *os.ProcessState
	var err error
	p.awaitExit() // without a thread of nsh per child
	if p.cmd != nil {
		err = p.cmd.Wait()
		state = p.cmd.ProcessState
	} else {
		state, err = p.osp.Wait()
	}
	if resDone != nil {
		select {
		case <-resDone:
		case <-time.After(2 * time.Second):
			// a grandchild holds the result pipe open; give up on it
			p.res.Close()
		}
	}
	p.mu.Lock()
	p.state = state
	if p.state == nil && err != nil {
		p.resErr = err.Error()
	}
	if len(resBytes) > 0 {
		p.result, p.resErr = decodeResult(resBytes)
	}
	if rawErr != "" {
		p.resErr = rawErr
	}
	if p.ctl != nil {
		p.ctl.Close()
		p.ctl = nil
	}
	p.mu.Unlock()
	ownChildren.remove(p.Pid)
	close(p.done)
	p.closePidfd() // a pidfd names its process even once reaped: no hurry
}
