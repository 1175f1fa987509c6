package main

import (
	"os"
	"os/exec"

	"golang.org/x/sys/unix"
)

// evictPrograms drops the page cache of each side's program (writing back
// what is dirty first), so that both sides start from the same state: the
// next run reads the program again through its page faults. On this
// machine the state alone moves a start-up by 20%: a binary freshly
// written by cp sits in large folios, whose fault-around maps 16 pages at
// a time cheaply, while one written by Go's linker (through mmap) or read
// back after eviction (DAMON pages out what no one touched for a minute)
// sits in 4 KiB folios, and nsh --version then costs 1.20x wall, 1.23x CPU
// (paired, 30 x 10 runs) for the same bytes. Shared libraries are left
// alone: lua5.4 is static but for libc, which every process keeps hot.
func evictPrograms(argvs ...[]string) error {
	for _, argv := range argvs {
		if len(argv) == 0 {
			continue
		}
		p, err := exec.LookPath(argv[0])
		if err != nil {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		err = unix.Fdatasync(int(f.Fd()))
		if err == nil {
			err = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
		}
		f.Close()
		if err != nil {
			return err
		}
	}
	return nil
}
