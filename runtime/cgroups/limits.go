package cgroups

import (
	"fmt"
	"strconv"
	"strings"
)

// Limit is one portable limit: a name that means the same on every host,
// mapped by Set and Get to the files this host's cgroup version has.
type Limit struct {
	Name string // portable name: "memory.max"
	V1   string // what it maps to on cgroup v1
	V2   string // what it maps to on cgroup v2
}

// Limits is the one table of portable limits, in the order Create applies
// them: memory.max before memory.swap.max, since v1 wants
// memory.limit_in_bytes <= memory.memsw.limit_in_bytes at every step.
var Limits = []Limit{
	{"cpu.weight", "cpu.shares (converted: weight 100 = 2597 shares)", "cpu.weight (1..10000)"},
	{"cpu.shares", "cpu.shares (2..262144)", "cpu.weight (converted)"},
	{"cpu.max", "cpu.cfs_quota_us + cpu.cfs_period_us", "cpu.max \"QUOTA PERIOD\""},
	{"memory.max", "memory.limit_in_bytes", "memory.max"},
	{"memory.swap.max", "memory.memsw.limit_in_bytes (= limit + swap)", "memory.swap.max"},
	{"pids.max", "pids.max", "pids.max"},
	{"cpuset.cpus", "cpuset.cpus", "cpuset.cpus"},
	{"cpuset.mems", "cpuset.mems", "cpuset.mems"},
}

// Portable lists the names of Limits.
var Portable = func() []string {
	out := make([]string, len(Limits))
	for i, l := range Limits {
		out[i] = l.Name
	}
	return out
}()

// Key is the name with "_" for "." ("memory_max"), as an option key or
// identifier spells it.
func (l Limit) Key() string { return strings.ReplaceAll(l.Name, ".", "_") }

// LookupLimit finds a portable limit by its name or its Key.
func LookupLimit(name string) (Limit, bool) {
	for _, l := range Limits {
		if name == l.Name || name == l.Key() {
			return l, true
		}
	}
	return Limit{}, false
}

// Setting is one limit to set: a portable name (or any interface file) and
// its value.
type Setting struct{ Name, Value string }

// ValueError is a limit value refused before the kernel sees it: outside the
// range the kernel documents (v1 would clamp cpu.shares silently), or not
// settable in this state. The input is wrong, so it carries no errno.
type ValueError struct {
	Name  string // the limit: "cpu.weight"
	Value string
	Rule  string // what is valid: "takes an integer 1..10000"
}

func (e *ValueError) Error() string { return fmt.Sprintf("%s %s, got %q", e.Name, e.Rule, e.Value) }

// v1 memory "unlimited" reads back as PAGE_COUNTER_MAX pages (9223372036854771712 with 4K pages).
const v1Unlimited = int64(1) << 62

// WeightToShares maps cgroup v2 cpu.weight to v1 cpu.shares as systemd and
// runc do: 1 -> 2, 100 (v2 default) -> 2597, 10000 -> 262144; v1's default 1024 shares is weight 40.
func WeightToShares(w int64) int64 { return 2 + ((w-1)*262142)/9999 }

// SharesToWeight is the inverse of WeightToShares (rounded, so a weight
// survives the round trip exactly).
func SharesToWeight(s int64) int64 { return 1 + ((s-2)*9999+131071)/262142 }

func parseIntIn(name, value string, lo, hi int64) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, &ValueError{Name: name, Value: value, Rule: fmt.Sprintf("takes an integer %d..%d", lo, hi)}
	}
	return n, nil
}

// ParseSize reads "64M", "1G", "512k", "4096", "1.5G" (binary units, an
// optional "i"/"B") or "max"/"-1" (returned as -1).
func ParseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "max" || s == "-1" {
		return -1, nil
	}
	t := strings.TrimSuffix(strings.TrimSuffix(s, "B"), "i")
	mult := 1.0
	if t != "" {
		switch t[len(t)-1] {
		case 'k', 'K':
			mult = 1 << 10
		case 'm', 'M':
			mult = 1 << 20
		case 'g', 'G':
			mult = 1 << 30
		case 't', 'T':
			mult = 1 << 40
		}
		if mult != 1 {
			t = t[:len(t)-1]
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f < 0 || f*mult > float64(1<<62) {
		return 0, fmt.Errorf("size %q: want bytes, a number with K/M/G/T (binary units), or \"max\"", s)
	}
	return int64(f * mult), nil
}

// CheckValue checks a value for a portable limit (name or Key) against the
// range the kernel documents, without touching the kernel; any other name
// is the kernel's to judge and passes.
func CheckValue(name, value string) error {
	l, ok := LookupLimit(name)
	if !ok {
		return nil
	}
	switch l.Name {
	case "cpu.weight":
		_, err := parseIntIn(l.Name, value, 1, 10000)
		return err
	case "cpu.shares":
		_, err := parseIntIn(l.Name, value, 2, 262144)
		return err
	case "cpu.max":
		_, _, err := parseCPUMax(value)
		return err
	case "memory.max", "memory.swap.max":
		_, err := parseMemory(l.Name, value)
		return err
	case "pids.max":
		_, err := parsePids(value)
		return err
	}
	return nil
}

func parseMemory(name, value string) (int64, error) {
	n, err := ParseSize(value)
	if err != nil {
		return 0, &ValueError{Name: name, Value: value, Rule: `takes bytes, a number with K/M/G/T (binary units), or "max"`}
	}
	return n, nil
}

func parsePids(value string) (string, error) {
	v := strings.TrimSpace(value)
	if v != "max" {
		if n, err := strconv.ParseInt(v, 10, 64); err != nil || n < 0 || n > 4194304 {
			return "", &ValueError{Name: "pids.max", Value: value, Rule: `takes "max" or an integer 0..4194304`}
		}
	}
	return v, nil
}

// Set sets a limit. Portable names (see Limits; the Key spelling works too)
// are mapped to the host's files and checked against their valid range
// first (v1 cpu.shares would otherwise clamp silently): a bad value is a
// *ValueError. Any other name is written as is (Write).
func (g *Group) Set(name, value string) error {
	if l, ok := LookupLimit(name); ok {
		name = l.Name
	}
	switch name {
	case "cpu.weight", "cpu.shares":
		dir, v := g.dirOf("cpu")
		if dir == "" {
			return g.Write(name, value) // gives the "not created with cpu" error
		}
		var w, s int64
		var err error
		if name == "cpu.weight" {
			if w, err = parseIntIn(name, value, 1, 10000); err != nil {
				return err
			}
			s = WeightToShares(w)
		} else {
			if s, err = parseIntIn(name, value, 2, 262144); err != nil {
				return err
			}
			w = SharesToWeight(s)
		}
		if v == 2 {
			return writeFile(dir, "cpu.weight", strconv.FormatInt(w, 10))
		}
		return writeFile(dir, "cpu.shares", strconv.FormatInt(s, 10))

	case "cpu.max":
		quota, period, err := parseCPUMax(value)
		if err != nil {
			return err
		}
		dir, v := g.dirOf("cpu")
		if dir == "" {
			return g.Write(name, value)
		}
		if v == 2 {
			q := "max"
			if quota >= 0 {
				q = strconv.FormatInt(quota, 10)
			}
			if period == 0 {
				return writeFile(dir, "cpu.max", q)
			}
			return writeFile(dir, "cpu.max", q+" "+strconv.FormatInt(period, 10))
		}
		if period != 0 {
			if err := writeFile(dir, "cpu.cfs_period_us", strconv.FormatInt(period, 10)); err != nil {
				return err
			}
		}
		return writeFile(dir, "cpu.cfs_quota_us", strconv.FormatInt(quota, 10))

	case "memory.max", "memory.swap.max":
		n, err := parseMemory(name, value)
		if err != nil {
			return err
		}
		dir, v := g.dirOf("memory")
		if dir == "" {
			return g.Write(name, value)
		}
		if v == 2 {
			s := "max"
			if n >= 0 {
				s = strconv.FormatInt(n, 10)
			}
			return writeFile(dir, name, s)
		}
		if name == "memory.max" {
			return g.setV1Memory(dir, n, g.v1swap)
		}
		if !exists(dir + "/memory.memsw.limit_in_bytes") {
			return noFileError(fmt.Sprintf("open(%s/memory.memsw.limit_in_bytes)", dir), dir, "memory.memsw.limit_in_bytes")
		}
		limit, err := readInt(dir, "memory.limit_in_bytes")
		if err != nil {
			return err
		}
		if limit >= v1Unlimited {
			limit = -1
		}
		if n >= 0 && limit < 0 {
			return &ValueError{Name: name, Value: value,
				Rule: "needs memory.max set first on v1, which limits memory and swap together (memory.memsw.limit_in_bytes = limit + swap)"}
		}
		return g.setV1Memory(dir, limit, n)

	case "pids.max":
		v, err := parsePids(value)
		if err != nil {
			return err
		}
		return g.Write("pids.max", v)

	case "cpuset.cpus", "cpuset.mems":
		dir, v := g.dirOf("cpuset")
		if dir == "" {
			return g.Write(name, value)
		}
		if v == 1 {
			// The v1 trap: a new cpuset has empty cpus and mems; both must be
			// set before a process can join (ENOSPC otherwise). Create already
			// copies them from the parent; this repairs a group made elsewhere.
			if err := fillCpuset(parentDir(dir), dir); err != nil {
				return err
			}
		}
		return writeFile(dir, name, strings.TrimSpace(value))
	}
	return g.Write(name, value)
}

// setV1Memory writes memory.limit_in_bytes = limit and, where the file exists
// and swap was asked for, memory.memsw.limit_in_bytes = limit + swap, in the
// order v1 accepts (limit <= memsw at every step). -1 means unlimited.
func (g *Group) setV1Memory(dir string, limit, swap int64) error {
	hasMemsw := exists(dir + "/memory.memsw.limit_in_bytes")
	if !hasMemsw || swap == -2 {
		return writeFile(dir, "memory.limit_in_bytes", strconv.FormatInt(limit, 10))
	}
	memsw := int64(-1)
	if limit >= 0 && swap >= 0 {
		memsw = limit + swap
	}
	curMemsw, err := readInt(dir, "memory.memsw.limit_in_bytes")
	if err != nil {
		return err
	}
	// Raising: memsw first; lowering: limit first.
	if memsw < 0 || (curMemsw < v1Unlimited && memsw > curMemsw) {
		if err := writeFile(dir, "memory.memsw.limit_in_bytes", strconv.FormatInt(memsw, 10)); err != nil {
			return err
		}
		if err := writeFile(dir, "memory.limit_in_bytes", strconv.FormatInt(limit, 10)); err != nil {
			return err
		}
	} else {
		if err := writeFile(dir, "memory.limit_in_bytes", strconv.FormatInt(limit, 10)); err != nil {
			return err
		}
		if err := writeFile(dir, "memory.memsw.limit_in_bytes", strconv.FormatInt(memsw, 10)); err != nil {
			return err
		}
	}
	g.v1swap = swap
	return nil
}

// parseCPUMax reads "max", "QUOTA", "QUOTA PERIOD" or "max PERIOD" (µs).
// quota -1 means no limit; period 0 means unchanged.
func parseCPUMax(value string) (quota, period int64, err error) {
	f := strings.Fields(value)
	bad := &ValueError{Name: "cpu.max", Value: value, Rule: `takes "max" or "QUOTA [PERIOD]" in µs: quota >= 1000, period 1000..1000000`}
	if len(f) == 0 || len(f) > 2 {
		return 0, 0, bad
	}
	quota = -1
	if f[0] != "max" {
		if quota, err = strconv.ParseInt(f[0], 10, 64); err != nil || quota < 1000 {
			return 0, 0, bad
		}
	}
	if len(f) == 2 {
		if period, err = strconv.ParseInt(f[1], 10, 64); err != nil || period < 1000 || period > 1000000 {
			return 0, 0, bad
		}
	}
	return quota, period, nil
}

// Get reads a limit under its portable name (or Key) in the portable form (cpu.weight
// from v1 cpu.shares, "max" for unlimited, cpu.max as "QUOTA PERIOD"); other
// names are read as is (Read).
func (g *Group) Get(name string) (string, error) {
	if l, ok := LookupLimit(name); ok {
		name = l.Name
	}
	switch name {
	case "cpu.weight", "cpu.shares":
		dir, v := g.dirOf("cpu")
		if dir == "" {
			return g.Read(name)
		}
		if v == 2 {
			w, err := readInt(dir, "cpu.weight")
			if err != nil {
				return "", err
			}
			if name == "cpu.shares" {
				return strconv.FormatInt(WeightToShares(w), 10), nil
			}
			return strconv.FormatInt(w, 10), nil
		}
		s, err := readInt(dir, "cpu.shares")
		if err != nil {
			return "", err
		}
		if name == "cpu.weight" {
			return strconv.FormatInt(SharesToWeight(s), 10), nil
		}
		return strconv.FormatInt(s, 10), nil
	case "cpu.max":
		dir, v := g.dirOf("cpu")
		if dir == "" || v == 2 {
			return g.Read(name)
		}
		q, err := readInt(dir, "cpu.cfs_quota_us")
		if err != nil {
			return "", err
		}
		p, err := readInt(dir, "cpu.cfs_period_us")
		if err != nil {
			return "", err
		}
		if q < 0 {
			return fmt.Sprintf("max %d", p), nil
		}
		return fmt.Sprintf("%d %d", q, p), nil
	case "memory.max", "memory.swap.max":
		dir, v := g.dirOf("memory")
		if dir == "" || v == 2 {
			return g.Read(name)
		}
		limit, err := readInt(dir, "memory.limit_in_bytes")
		if err != nil {
			return "", err
		}
		if name == "memory.max" {
			return maxOr(limit), nil
		}
		memsw, err := readInt(dir, "memory.memsw.limit_in_bytes")
		if err != nil {
			return "", err
		}
		if memsw >= v1Unlimited || limit >= v1Unlimited {
			return "max", nil
		}
		return strconv.FormatInt(memsw-limit, 10), nil
	}
	return g.Read(name)
}

func maxOr(n int64) string {
	if n < 0 || n >= v1Unlimited {
		return "max"
	}
	return strconv.FormatInt(n, 10)
}

func readInt(dir, file string) (int64, error) {
	s, err := readFile(dir, file)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("cgroups: %s/%s: unexpected content %q", dir, file, s)
	}
	return n, nil
}

func parentDir(dir string) string {
	i := strings.LastIndexByte(dir, '/')
	if i <= 0 {
		return "/"
	}
	return dir[:i]
}
