package netlab

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// A plain node's holder is nsh's own sleep: a static program of a few
// bytes that names itself "sleep" and waits in pause(2) until a signal
// ends it, as `sleep infinity` does, started as "sleep infinity". The
// system's sleep(1) is dynamically linked: each start maps the loader and
// libc and runs their start-up (in a virtual machine glibc's CPU feature
// probe alone, cpuid after cpuid, each a trap to the hypervisor, costs
// more than the rest), about 1 ms of CPU a node; this one costs the
// fork and exec alone (about 0.2 ms) and 8 kB of memory where sleep
// takes 1 MB. It lives in a sealed memfd (memfd_create(2)) nsh makes once;
// a holder is that file executed through /proc/self/fd/N, so its
// /proc/PID/exe reads "/memfd:nsh-sleep (deleted)". Where the kernel or
// the architecture cannot (no memfd exec, vm.memfd_noexec, a /proc that is
// not this process's, an architecture without code here), the holder is
// sleep(1) as before.

// sleeperProg is the sleeper's code for one architecture.
type sleeperProg struct {
	machine uint16 // ELF e_machine
	code    []byte
}

// sleeperCode is the program for each architecture nsh carries it for.
func sleeperCode(arch string) (sleeperProg, bool) {
	if arch == "amd64" {
		return amd64Sleeper, true
	}
	return sleeperProg{}, false
}

// amd64Sleeper is
//
//	_start: mov $157,%eax; mov $15,%edi; lea name(%rip),%rsi; syscall  prctl(PR_SET_NAME, "sleep")
//	1:      mov $34,%eax; syscall; jmp 1b                              for (;;) pause();
//	name:   .asciz "sleep"
var amd64Sleeper = sleeperProg{62, []byte{
	0xb8, 0x9d, 0x00, 0x00, 0x00,
	0xbf, 0x0f, 0x00, 0x00, 0x00,
	0x48, 0x8d, 0x35, 0x0b, 0x00, 0x00, 0x00,
	0x0f, 0x05,
	0xb8, 0x22, 0x00, 0x00, 0x00,
	0x0f, 0x05,
	0xeb, 0xf7,
	's', 'l', 'e', 'e', 'p', 0,
}}

// sleeperELF wraps code in the smallest static executable the kernel
// loads: an ELF header, one program header mapping the whole file
// read+execute at 0x400000, and the code right after them (its entry).
func sleeperELF(machine uint16, code []byte) []byte {
	const base, ehdr, phdr = 0x400000, 64, 56
	b := make([]byte, ehdr+phdr, ehdr+phdr+len(code))
	copy(b, "\x7fELF\x02\x01\x01") // 64-bit, little-endian, version 1, System V ABI
	le := binary.LittleEndian
	le.PutUint16(b[16:], 2) // ET_EXEC
	le.PutUint16(b[18:], machine)
	le.PutUint32(b[20:], 1)              // EV_CURRENT
	le.PutUint64(b[24:], base+ehdr+phdr) // e_entry
	le.PutUint64(b[32:], ehdr)           // e_phoff
	le.PutUint16(b[52:], ehdr)           // e_ehsize
	le.PutUint16(b[54:], phdr)           // e_phentsize
	le.PutUint16(b[56:], 1)              // e_phnum
	p := b[ehdr:]
	le.PutUint32(p[0:], 1)                         // PT_LOAD
	le.PutUint32(p[4:], 5)                         // PF_R|PF_X
	le.PutUint64(p[16:], base)                     // p_vaddr
	le.PutUint64(p[24:], base)                     // p_paddr
	le.PutUint64(p[32:], uint64(len(b)+len(code))) // p_filesz
	le.PutUint64(p[40:], uint64(len(b)+len(code))) // p_memsz
	le.PutUint64(p[48:], 0x1000)                   // p_align
	return append(b, code...)
}

var sleeper struct {
	once sync.Once
	fd   int
	off  atomic.Bool // an exec of it failed: sleep(1) from now on
}

// sleeperPath is the file a holder executes for nsh's sleep, "" where
// there is none (then the holder is sleep(1)).
func sleeperPath() string {
	sleeper.once.Do(func() { sleeper.fd = makeSleeper() })
	if sleeper.fd < 0 || sleeper.off.Load() || !procIsOurs() {
		return ""
	}
	return fmt.Sprintf("/proc/self/fd/%d", sleeper.fd)
}

// makeSleeper writes the program into a memfd and seals it (no one may
// change it after, nsh included), -1 if it cannot.
func makeSleeper() int {
	prog, ok := sleeperCode(runtime.GOARCH)
	if !ok {
		return -1
	}
	const flags = unix.MFD_CLOEXEC | unix.MFD_ALLOW_SEALING
	fd, err := unix.MemfdCreate("nsh-sleep", flags|unix.MFD_EXEC)
	if err == unix.EINVAL { // before Linux 6.3, memfds are executable without MFD_EXEC
		fd, err = unix.MemfdCreate("nsh-sleep", flags)
	}
	if err != nil {
		return -1
	}
	elf := sleeperELF(prog.machine, prog.code)
	if n, err := unix.Write(fd, elf); err != nil || n != len(elf) {
		unix.Close(fd)
		return -1
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, unix.F_SEAL_SEAL|unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_WRITE); err != nil {
		unix.Close(fd)
		return -1
	}
	return fd
}
