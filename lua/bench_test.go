package lua

import "testing"

// BenchmarkNewSession: building an interpreter with every module, the part
// of nsh's start-up that is nsh's own.
func BenchmarkNewSession(b *testing.B) {
	for i := 0; i < b.N; i++ {
		s, err := NewSession()
		if err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}
