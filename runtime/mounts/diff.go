package mounts

import "fmt"

// Diff compares two mount tables, e.g. before and after a change, or two
// processes' views. Entries are matched by target; when several mounts are
// stacked on one target they are matched in order (the n-th on a target in a
// with the n-th in b). A matched pair is changed when its filesystem type,
// source, root, options, superblock options or propagation type differ; mount
// IDs and peer-group numbers are not compared, since they differ between
// namespaces for the same mount.
func Diff(a, b []Entry) (onlyA, onlyB []Entry, changed [][2]Entry) {
	ka, kb := keyed(a), keyed(b)
	for i, e := range a {
		other, ok := kb.m[ka.keys[i]]
		if !ok {
			onlyA = append(onlyA, e)
		} else if !same(e, other) {
			changed = append(changed, [2]Entry{e, other})
		}
	}
	for i, e := range b {
		if _, ok := ka.m[kb.keys[i]]; !ok {
			onlyB = append(onlyB, e)
		}
	}
	return onlyA, onlyB, changed
}

type keyedTable struct {
	keys []string
	m    map[string]Entry
}

func keyed(t []Entry) keyedTable {
	k := keyedTable{keys: make([]string, len(t)), m: make(map[string]Entry, len(t))}
	seen := map[string]int{}
	for i, e := range t {
		n := seen[e.Target]
		seen[e.Target] = n + 1
		key := fmt.Sprintf("%s\x00%d", e.Target, n)
		k.keys[i] = key
		k.m[key] = e
	}
	return k
}

func same(x, y Entry) bool {
	return x.FSType == y.FSType && x.Source == y.Source && x.Root == y.Root &&
		x.Options == y.Options && x.SuperOptions == y.SuperOptions && x.Kind() == y.Kind()
}

// Find returns the last (topmost) entry mounted on target, and whether there is one.
func Find(t []Entry, target string) (Entry, bool) {
	for j := len(t) - 1; j >= 0; j-- {
		if t[j].Target == target {
			return t[j], true
		}
	}
	return Entry{}, false
}
