package mounts_test

import (
	"context"
	"os"
	"testing"

	"nsh/internal/nshtest"
	"nsh/runtime/mounts"
	"nsh/runtime/nsproc"
	"nsh/runtime/rootfs"
)

// BenchmarkContainerStart: what ns.spawn{"/bin/true", ns = ..., rootfs = R,
// proc = true, dev = "minimal"} does, from Go: a re-executed nsh child in
// new namespaces runs the container step (bind the rootfs, /proc, a
// minimal /dev with devpts and shm, pivot_root, detach the old root) and
// executes /bin/true. make bench compares the same start with bwrap and crun.
func BenchmarkContainerStart(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root: creates namespaces and mounts")
	}
	bin, remove, err := nshtest.Build("../../cmd/nsh")
	if err != nil {
		b.Fatal(err)
	}
	defer remove()
	old := nsproc.Exe
	nsproc.Exe = bin
	defer func() { nsproc.Exe = old }()
	dir := b.TempDir()
	if _, err := rootfs.Build(dir, rootfs.Options{Binaries: []string{"/bin/true"}}); err != nil {
		b.Fatal(err)
	}
	var setup nsproc.Setup // what rootfs = dir, proc = true, dev = "minimal" ask for
	if _, err := mounts.EditSetup(&setup, func(c *mounts.Container) error {
		*c = mounts.Container{Rootfs: dir, Proc: true, Dev: mounts.DevMinimal, DevPts: true, Shm: true}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	one := []nsproc.IDMap{{Inside: 0, Outside: 0, Count: 1}}
	for _, c := range []struct {
		name, types string
		maps        []nsproc.IDMap
	}{
		{"user,pid,mnt,uts,ipc,net,cgroup", "user,pid,mnt,uts,ipc,net,cgroup", one},
		{"pid,mnt,uts,ipc", "pid,mnt,uts,ipc", nil},
	} {
		ts, err := nsproc.ParseSet(c.types)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				p, err := nsproc.Start(nsproc.Spec{Argv: []string{"/bin/true"}, Types: ts, UIDMap: c.maps, GIDMap: c.maps,
					Setup: setup})
				if err != nil {
					b.Fatal(err)
				}
				if st, _ := p.Wait(context.Background()); st.Code != 0 {
					b.Fatal(st)
				}
			}
		})
	}
}
