package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// runProc runs argv to completion and measures it with wait4's rusage:
// user+sys of the process and of the children it reaped (a container's
// init, a re-executed nsh), and the peak RSS of the largest of them.
// It returns the sample (one operation) and the standard output.
func runProc(argv []string, env []string) (Sample, string, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	t0 := time.Now()
	err := cmd.Run()
	wall := time.Since(t0)
	s := Sample{Ops: 1, Wall: wall, Inner: math.NaN()}
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			s.CPU = tv(ru.Utime) + tv(ru.Stime)
			s.MaxRSS = ru.Maxrss
		}
	}
	if err != nil {
		return s, out.String(), fmt.Errorf("%s: %v: %s", short(argv), err, tail(errb.String()+out.String()))
	}
	return s, out.String(), nil
}

func tv(t syscall.Timeval) time.Duration {
	return time.Duration(t.Sec)*time.Second + time.Duration(t.Usec)*time.Microsecond
}

// short is argv for a message, long arguments (Lua chunks) cut.
func short(argv []string) string {
	var p []string
	for _, a := range argv {
		if a = strings.ReplaceAll(a, "\n", " "); len(a) > 300 {
			a = a[:120] + " ... " + a[len(a)-170:]
		}
		p = append(p, a)
	}
	return strings.Join(p, " ")
}

// tail keeps the end of a long error output.
func tail(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 600 {
		s = "..." + s[len(s)-600:]
	}
	return s
}

// procLoop is a side that runs ops processes one after another: wall and
// CPU are their sums, MaxRSS the largest.
func procLoop(argv func(i int) []string) func(int) (Sample, error) {
	n := 0
	return func(ops int) (Sample, error) {
		tot := Sample{Ops: ops, Inner: math.NaN()}
		for i := 0; i < ops; i++ {
			s, _, err := runProc(argv(n), nil)
			n++
			if err != nil {
				return tot, err
			}
			tot.Wall += s.Wall
			tot.CPU += s.CPU
			tot.MaxRSS = max(tot.MaxRSS, s.MaxRSS)
		}
		return tot, nil
	}
}

// fixed is an argv that does not change between runs.
func fixed(argv ...string) func(int) []string { return func(int) []string { return argv } }

// nshRun is a side that runs one nsh process per run: code is Lua with OPS
// set to the number of operations, which prints a last line
// "inner MS [name=MS ...]" timing its work with sys.now.
func nshRun(nsh, code string) func(int) (Sample, error) { return nshRunEnv(nsh, code, nil) }

// nshRunEnv is nshRun with variables added to nsh's environment.
func nshRunEnv(nsh, code string, env []string) func(int) (Sample, error) {
	return func(ops int) (Sample, error) {
		src := fmt.Sprintf("local OPS = %d\n%s", ops, code)
		s, out, err := runProc([]string{nsh, "--no-userns", "-e", src}, env)
		s.Ops = ops
		if err != nil {
			return s, err
		}
		if err := parseInner(out, &s); err != nil {
			return s, err
		}
		return s, nil
	}
}

// parseInner reads the last "inner MS [name=MS ...]" line of out.
func parseInner(out string, s *Sample) error {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		f := strings.Fields(lines[i])
		if len(f) < 2 || f[0] != "inner" {
			continue
		}
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			return fmt.Errorf("bad inner line %q", lines[i])
		}
		s.Inner = v
		for _, kv := range f[2:] {
			k, val, ok := strings.Cut(kv, "=")
			x, err := strconv.ParseFloat(val, 64)
			if !ok || err != nil {
				return fmt.Errorf("bad inner part %q in %q", kv, lines[i])
			}
			if s.Parts == nil {
				s.Parts = map[string]float64{}
			}
			s.Parts[k] = x
		}
		return nil
	}
	return fmt.Errorf("no \"inner MS\" line in the output: %q", tail(out))
}

// server is a long-lived nsh that does a batch of work per request: the
// harness writes the number of operations on a line, nsh answers
// "inner MS". Its CPU comes from /proc/PID/stat (utime, stime, cutime,
// cstime), in clock ticks of 10 ms: a batch should take a few hundred ms.
type server struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
	// Ready is the rest of the "ready ..." line nsh printed first.
	Ready string
}

func startServer(nsh, code string) (*server, error) {
	cmd := exec.Command(nsh, "--no-userns", "-e", code)
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	outp, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, in: in, out: bufio.NewReader(outp)}
	line, err := s.out.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "ready") {
		s.Close()
		return nil, fmt.Errorf("nsh server did not start: %q %v", line, err)
	}
	s.Ready = strings.TrimSpace(strings.TrimPrefix(line, "ready"))
	return s, nil
}

// cpuTicks is utime+stime+cutime+cstime of the server, in clock ticks.
func (s *server) cpuTicks() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// the fields after the command name, which is in parentheses
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime..cstime are fields 14..17
	var sum int64
	for _, k := range []int{14, 15, 16, 17} {
		v, err := strconv.ParseInt(f[k-3], 10, 64)
		if err != nil {
			return 0, err
		}
		sum += v
	}
	return sum, nil
}

const clockTick = 10 * time.Millisecond // USER_HZ is 100 on Linux

// Run does one batch of ops operations.
func (s *server) Run(ops int) (Sample, error) {
	c0, err := s.cpuTicks()
	if err != nil {
		return Sample{}, err
	}
	t0 := time.Now()
	if _, err := fmt.Fprintf(s.in, "%d\n", ops); err != nil {
		return Sample{}, err
	}
	line, err := s.out.ReadString('\n')
	wall := time.Since(t0)
	if err != nil {
		return Sample{}, fmt.Errorf("nsh server: %v", err)
	}
	c1, err := s.cpuTicks()
	if err != nil {
		return Sample{}, err
	}
	x := Sample{Ops: ops, Wall: wall, CPU: time.Duration(c1-c0) * clockTick, Inner: math.NaN()}
	if err := parseInner(line, &x); err != nil {
		return x, err
	}
	return x, nil
}

// Close asks the server to finish (it cleans up what it made) and waits.
func (s *server) Close() {
	if s.in != nil {
		fmt.Fprintln(s.in, "q")
		s.in.Close()
	}
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
}
