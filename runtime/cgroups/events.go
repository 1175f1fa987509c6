package cgroups

import (
	"fmt"
	"strings"
)

// Events are the group's event counters, read from the cgroup's own files
// (never from the kernel log). A field is -1 when this host has no counter.
type Events struct {
	OOM       int64 // times the memory limit was hit and the OOM killer ran for this group: v2 memory.events oom; v1 has no counter (-1)
	OOMKill   int64 // processes killed by the OOM killer: v2 memory.events oom_kill; v1 memory.oom_control oom_kill (kernels >= 4.13)
	MemoryMax int64 // times usage hit the limit: v2 memory.events max; v1 memory.failcnt
	UnderOOM  int64 // v1 memory.oom_control under_oom (1 while tasks wait with oom_kill_disable); -1 on v2
	PidsMax   int64 // forks refused by pids.max: pids.events max (v1 and v2)
	Populated int64 // v2 cgroup.events populated (1 while any process is in the subtree); -1 on v1
	Frozen    int64 // v2 cgroup.events frozen; -1 on v1
}

// Events reads the group's event counters.
func (g *Group) Events() (Events, error) {
	e := Events{-1, -1, -1, -1, -1, -1, -1}
	if dir, v := g.dirOf("memory"); dir != "" {
		if v == 2 {
			kv, err := readKeyed(dir, "memory.events")
			if err != nil {
				return e, err
			}
			e.OOM, e.OOMKill, e.MemoryMax = get(kv, "oom"), get(kv, "oom_kill"), get(kv, "max")
		} else {
			kv, err := readKeyed(dir, "memory.oom_control")
			if err != nil {
				return e, err
			}
			e.OOMKill, e.UnderOOM = get(kv, "oom_kill"), get(kv, "under_oom")
			n, err := optInt(dir, "memory.failcnt")
			if err != nil {
				return e, err
			}
			e.MemoryMax = n
		}
	}
	if dir, _ := g.dirOf("pids"); dir != "" {
		kv, err := readKeyed(dir, "pids.events")
		if err != nil {
			return e, err
		}
		e.PidsMax = get(kv, "max")
	}
	if dir := g.v2dir(); dir != "" {
		kv, err := readKeyed(dir, "cgroup.events")
		if err != nil {
			return e, err
		}
		e.Populated, e.Frozen = get(kv, "populated"), get(kv, "frozen")
	}
	return e, nil
}

func get(kv map[string]int64, k string) int64 {
	if v, ok := kv[k]; ok {
		return v
	}
	return -1
}

// Counter is one named counter of Stats or Events; -1 when the host has none.
type Counter struct {
	Name  string // "oom_kill"
	Value int64
}

// Counters lists the events under their names: oom, oom_kill, memory_max,
// under_oom, pids_max, populated, frozen.
func (e Events) Counters() []Counter {
	return []Counter{{"oom", e.OOM}, {"oom_kill", e.OOMKill}, {"memory_max", e.MemoryMax}, {"under_oom", e.UnderOOM},
		{"pids_max", e.PidsMax}, {"populated", e.Populated}, {"frozen", e.Frozen}}
}

// String lists the counters the host has: "oom=0 oom_kill=0 ...".
func (e Events) String() string {
	var parts []string
	for _, c := range e.Counters() {
		if c.Value >= 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", c.Name, c.Value))
		}
	}
	return strings.Join(parts, " ")
}
