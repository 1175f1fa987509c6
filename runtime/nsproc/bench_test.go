package nsproc

import (
	"context"
	"testing"
)

func benchStart(b *testing.B, types string) {
	if types != "" {
		if notRoot() {
			b.Skip("needs root")
		}
	}
	var ts Set
	if types != "" {
		ts, _ = ParseSet(types)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p, err := Start(Spec{Argv: []string{"/bin/true"}, Types: ts})
		if err != nil {
			b.Fatal(err)
		}
		if st, _ := p.Wait(context.Background()); st.Code != 0 {
			b.Fatal(st)
		}
	}
}

// BenchmarkStartPlain: fork+exec of /bin/true, no namespaces (the floor).
func BenchmarkStartPlain(b *testing.B) { benchStart(b, "") }

// BenchmarkStartNamespaces: /bin/true in new pid, mnt, uts, ipc and net
// namespaces, straight from the calling thread (no second Go runtime).
func BenchmarkStartNamespaces(b *testing.B) { benchStart(b, "pid,mnt,uts,ipc,net") }

// BenchmarkStartUTSPID: the cheap namespaces only (no net, whose creation
// and teardown dominate the cost above).
func BenchmarkStartUTSPID(b *testing.B) { benchStart(b, "uts,pid") }

// BenchmarkOpenHome: what every start of nsh (and of every re-executed
// child) pays to record the Lua thread's namespaces (issue 14: start-up).
func BenchmarkOpenHome(b *testing.B) {
	for i := 0; i < b.N; i++ {
		h, err := OpenHome()
		if err != nil {
			b.Fatal(err)
		}
		if len(h.files) == 0 {
			b.Fatal("no namespace file opened")
		}
		for _, f := range h.files {
			f.Close()
		}
	}
}
