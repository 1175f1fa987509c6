package lua

import (
	"testing"

	"nsh/runtime/mounts"
)

// TestProtectionChoices: the constant the unsafe= option's help spells
// out lists exactly the protections runtime/mounts has, in its order.
func TestProtectionChoices(t *testing.T) {
	if want := choices(mounts.Protections...); protectionChoices != want {
		t.Fatalf("protectionChoices = %s, want %s", protectionChoices, want)
	}
}
