package cgroups

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Stats is the group's usage. A field is -1 when this host has no file for it
// (or the group was not created with that controller).
type Stats struct {
	CPUUsageNs    int64 // total CPU time: v1 cpuacct.usage; v2 cpu.stat usage_usec*1000
	MemoryCurrent int64 // bytes: v1 memory.usage_in_bytes; v2 memory.current
	MemoryPeak    int64 // bytes: v1 memory.max_usage_in_bytes; v2 memory.peak
	PidsCurrent   int64 // tasks: pids.current
	PidsPeak      int64 // tasks: pids.peak, where the kernel has it
}

// Stats reads the group's usage counters. On a hybrid host the v2 cpu.stat
// (present without any controller) is used when cpuacct is not in the group.
func (g *Group) Stats() (Stats, error) {
	s := Stats{-1, -1, -1, -1, -1}
	var err error
	if dir, v := g.dirOf("cpuacct"); dir != "" && v == 1 {
		if s.CPUUsageNs, err = optInt(dir, "cpuacct.usage"); err != nil {
			return s, err
		}
	} else if dir, v := g.dirOf("cpu"); dir != "" && v == 2 {
		if s.CPUUsageNs, err = usecToNs(dir); err != nil {
			return s, err
		}
	} else if dir := g.v2dir(); dir != "" {
		if s.CPUUsageNs, err = usecToNs(dir); err != nil {
			return s, err
		}
	}
	if dir, v := g.dirOf("memory"); dir != "" {
		cur, peak := "memory.current", "memory.peak"
		if v == 1 {
			cur, peak = "memory.usage_in_bytes", "memory.max_usage_in_bytes"
		}
		if s.MemoryCurrent, err = optInt(dir, cur); err != nil {
			return s, err
		}
		if s.MemoryPeak, err = optInt(dir, peak); err != nil {
			return s, err
		}
	}
	if dir, _ := g.dirOf("pids"); dir != "" {
		if s.PidsCurrent, err = optInt(dir, "pids.current"); err != nil {
			return s, err
		}
		if s.PidsPeak, err = optInt(dir, "pids.peak"); err != nil {
			return s, err
		}
	}
	return s, nil
}

func usecToNs(dir string) (int64, error) {
	kv, err := readKeyed(dir, "cpu.stat")
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return -1, nil
		}
		return -1, err
	}
	if u, ok := kv["usage_usec"]; ok {
		return u * 1000, nil
	}
	return -1, nil
}

// optInt reads an integer file; a missing file gives -1.
func optInt(dir, file string) (int64, error) {
	n, err := readInt(dir, file)
	if err != nil && errors.Is(err, unix.ENOENT) {
		return -1, nil
	}
	if err != nil {
		return -1, err
	}
	return n, nil
}

// readKeyed parses a flat-keyed file ("key value" per line).
func readKeyed(dir, file string) (map[string]int64, error) {
	f, err := os.Open(filepath.Join(dir, file))
	if err != nil {
		return nil, readErr(dir, file, err)
	}
	defer f.Close()
	out := map[string]int64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		if !ok {
			continue
		}
		if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
			out[k] = n
		}
	}
	if err := sc.Err(); err != nil {
		return nil, readErr(dir, file, err)
	}
	return out, nil
}

// Counters lists the usage under its names: cpu_usage_ns, memory_current,
// memory_peak, pids_current, pids_peak.
func (s Stats) Counters() []Counter {
	return []Counter{{"cpu_usage_ns", s.CPUUsageNs}, {"memory_current", s.MemoryCurrent}, {"memory_peak", s.MemoryPeak},
		{"pids_current", s.PidsCurrent}, {"pids_peak", s.PidsPeak}}
}

// String is the usage in units: "cpu 1.234 s, memory 1.0M (peak 2.0M),
// pids 1 (peak 1)", "-" where there is no counter.
func (s Stats) String() string {
	return fmt.Sprintf("cpu %s, memory %s (peak %s), pids %s (peak %s)",
		orDash(s.CPUUsageNs, func(v int64) string { return fmt.Sprintf("%.3f s", float64(v)/1e9) }),
		orDash(s.MemoryCurrent, HumanBytes), orDash(s.MemoryPeak, HumanBytes),
		orDash(s.PidsCurrent, itoa64), orDash(s.PidsPeak, itoa64))
}

func itoa64(v int64) string { return strconv.FormatInt(v, 10) }

func orDash(v int64, f func(int64) string) string {
	if v < 0 {
		return "-"
	}
	return f(v)
}

// HumanBytes prints 67108864 as 64.0M (binary units).
func HumanBytes(v int64) string {
	units := []string{"", "K", "M", "G", "T"}
	f := float64(v)
	i := 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	if i == 0 {
		return strconv.FormatInt(v, 10)
	}
	return fmt.Sprintf("%.1f%s", f, units[i])
}
