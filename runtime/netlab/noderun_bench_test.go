package netlab

import (
	"context"
	"os/exec"
	"testing"

	"nsh/runtime/nsproc"
)

// BenchmarkNodeRun: one command (/bin/true) in an existing lab node, the
// way node:run starts it (Node.Command: a child joining the node's network
// namespace, straight into the program), against nsenter(1) doing the same from its
// own process.
func BenchmarkNodeRun(b *testing.B) {
	freshNet(b)
	l, err := NewLab(LabOptions{Name: "benchrun"})
	must(b, err)
	defer l.Close()
	nd, err := l.AddNode(NodeOptions{Name: "n1"})
	must(b, err)
	spec, done, err := nd.Command([]string{"/bin/true"}) // what node:run starts
	must(b, err)
	defer done()
	b.Run("join", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			p, err := nsproc.Start(spec)
			if err != nil {
				b.Fatal(err)
			}
			if st, _ := p.Wait(context.Background()); st.Code != 0 {
				b.Fatal(st)
			}
		}
	})
	b.Run("nsenter", func(b *testing.B) {
		if _, err := exec.LookPath("nsenter"); err != nil {
			b.Skip("no nsenter(1)")
		}
		for i := 0; i < b.N; i++ {
			cmd := exec.Command("nsenter", "--net="+nd.Path(), "/bin/true")
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("nsenter: %v %s", err, out)
			}
		}
	})
}
