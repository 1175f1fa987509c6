package mounts

import (
	"slices"
	"strings"
	"testing"

	"nsh/runtime/caps"
)

// The package's lookup tables are sorted lists of constants (not maps,
// which code would build at every start); these tests keep what a map
// gave for free.

// TestFlagWordsSorted: flagWords is sorted and has no word twice, so that
// lookupFlag's binary search finds every word.
func TestFlagWordsSorted(t *testing.T) {
	words := FlagWords()
	if !slices.IsSorted(words) || len(slices.Compact(slices.Clone(words))) != len(words) {
		t.Fatalf("flagWords not sorted or not unique: %v", words)
	}
	for _, w := range words {
		if f, ok := lookupFlag(w); !ok || f.word != w {
			t.Errorf("lookupFlag(%q) = %+v, %v", w, f, ok)
		}
	}
	if _, ok := lookupFlag("nosuchflag"); ok {
		t.Error("lookupFlag found a word that is not one")
	}
}

// TestDefaultCapMask: the mask containers keep is exactly DefaultCaps.
func TestDefaultCapMask(t *testing.T) {
	m, err := caps.Mask(DefaultCaps)
	if err != nil {
		t.Fatal(err)
	}
	if m != defaultCapMask {
		t.Fatalf("DefaultCaps are %v, defaultCapMask %v", caps.Names(m), caps.Names(defaultCapMask))
	}
}

// TestSeccompGroupsSorted: the groups come in the order of their names,
// which SeccompNames documents, and no call is in two groups.
func TestSeccompGroupsSorted(t *testing.T) {
	if !slices.IsSortedFunc(SeccompDenied, func(a, b SeccompGroup) int { return strings.Compare(a.Gives, b.Gives) }) {
		t.Fatal("SeccompDenied groups are not sorted by name")
	}
	seen := map[string]bool{}
	for _, n := range SeccompNames() {
		if seen[n] {
			t.Errorf("%s is in two groups", n)
		}
		seen[n] = true
	}
}
