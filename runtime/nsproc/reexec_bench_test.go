package nsproc

import (
	"context"
	"testing"

	"nsh/internal/nshtest"
)

// BenchmarkStartReexec: /bin/true in new uts and pid namespaces with a
// hostname set-up step, which makes the child a re-executed nsh (a second
// Go runtime) that sets the hostname and then executes the program. It is
// the part of ns.clone and of a container start that is not Lua and not
// mounts; BenchmarkStartUTSPID is the same start without the re-execution.
func BenchmarkStartReexec(b *testing.B) {
	if notRoot() {
		b.Skip("needs root")
	}
	bin, remove, err := nshtest.Build("../../cmd/nsh")
	if err != nil {
		b.Fatal(err)
	}
	defer remove()
	old := Exe
	Exe = bin
	defer func() { Exe = old }()
	ForceReexec = true // a hostname alone would take the raw start
	defer func() { ForceReexec = false }()
	ts, err := ParseSet("uts,pid")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("uts,pid+hostname", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			p, err := Start(Spec{Argv: []string{"/bin/true"}, Types: ts, Setup: Setup{Hostname: "bench"}})
			if err != nil {
				b.Fatal(err)
			}
			if st, _ := p.Wait(context.Background()); st.Code != 0 {
				b.Fatal(st)
			}
		}
	})
}
