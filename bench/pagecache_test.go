package main

import (
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TestEvictProgramsDropsPages: a file just written (dirty, in the page
// cache) has no page resident after evictPrograms, as mincore(2) reports.
func TestEvictProgramsDropsPages(t *testing.T) {
	p := filepath.Join(t.TempDir(), "prog")
	if err := os.WriteFile(p, make([]byte, 1<<20), 0o755); err != nil {
		t.Fatal(err)
	}
	if n := resident(t, p); n == 0 {
		t.Skip("the file was not in the page cache after writing it (nothing to evict)")
	}
	if err := evictPrograms([]string{p}, nil); err != nil {
		t.Fatal(err)
	}
	if n := resident(t, p); n != 0 {
		t.Fatalf("%d pages still resident after evictPrograms", n)
	}
}

// resident counts the pages of the file at p in the page cache.
func resident(t *testing.T, p string) int {
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	m, err := unix.Mmap(int(f.Fd()), 0, int(st.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	vec := make([]byte, (len(m)+os.Getpagesize()-1)/os.Getpagesize())
	// x/sys/unix has no mincore wrapper
	if _, _, e := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
		t.Fatal("mincore:", e)
	}
	n := 0
	for _, v := range vec {
		n += int(v & 1)
	}
	return n
}
