package netlab

import (
	"path/filepath"
	"testing"
)

// Two nsh of one user: one closing its last lab tidies the labs directory
// away while the other is making its lab's directory in it; the other
// still gets its directory.
func TestLabDirRace(t *testing.T) {
	t.Setenv("NSH_STATE_DIR", filepath.Join(t.TempDir(), "state"))
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
				TidyLabsDir()
			}
		}
	}()
	defer func() { close(stop); <-done }()
	for i := 0; i < 100; i++ {
		l := &Lab{name: "race", note: func(string, string) {}}
		if err := l.makeDir(""); err != nil {
			t.Fatalf("try %d: %v", i, err)
		}
		must(t, l.removeDir())
	}
}
