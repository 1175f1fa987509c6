package rootfs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
)

// The few facts of an ELF file that Deps needs, read by hand: its class and
// machine, PT_INTERP, and the DT_NEEDED, DT_RPATH and DT_RUNPATH strings of
// its dynamic section (found, as debug/elf finds it, as the SHT_DYNAMIC
// section and the string table its sh_link names). debug/elf would do, but
// linking it linked debug/dwarf, internal/zstd and compress/zlib too, whose
// package inits ran at every start of nsh and of every re-executed child.
// TestELFReaderIsDebugELF compares the two on the host's binaries.

const (
	elfClass32  = 1
	elfClass64  = 2
	elfData2LSB = 1
	elfData2MSB = 2

	ptInterp   = 3
	shtDynamic = 6
	shtNobits  = 8

	dtNeeded  = 1
	dtRpath   = 15
	dtRunpath = 29
)

// elfFile is an open ELF file with its program and section headers read.
type elfFile struct {
	f       *os.File
	Class   byte
	Machine uint16
	order   binary.ByteOrder
	progs   []elfProg
	secs    []elfSection
}

type elfProg struct {
	typ         uint32
	off, filesz uint64
}

type elfSection struct {
	typ       uint32
	link      uint32
	off, size uint64
}

// openELFFile reads the headers of the ELF file at p.
func openELFFile(p string) (*elfFile, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	e, err := readELF(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return e, nil
}

func (e *elfFile) Close() error { return e.f.Close() }

func readELF(f *os.File) (*elfFile, error) {
	var id [16]byte
	if _, err := f.ReadAt(id[:], 0); err != nil {
		return nil, err
	}
	if string(id[:4]) != "\x7fELF" {
		return nil, fmt.Errorf("bad magic number %q", id[:4])
	}
	e := &elfFile{f: f, Class: id[4]}
	switch id[5] {
	case elfData2LSB:
		e.order = binary.LittleEndian
	case elfData2MSB:
		e.order = binary.BigEndian
	default:
		return nil, fmt.Errorf("unknown ELF data encoding %d", id[5])
	}
	if id[6] != 1 {
		return nil, fmt.Errorf("unknown ELF version %d", id[6])
	}
	o := e.order
	var phoff, shoff uint64
	var phentsize, phnum, shentsize, shnum int
	switch e.Class {
	case elfClass64:
		var h [64]byte
		if _, err := f.ReadAt(h[:], 0); err != nil {
			return nil, err
		}
		e.Machine = o.Uint16(h[18:])
		phoff, shoff = o.Uint64(h[32:]), o.Uint64(h[40:])
		phentsize, phnum = int(o.Uint16(h[54:])), int(o.Uint16(h[56:]))
		shentsize, shnum = int(o.Uint16(h[58:])), int(o.Uint16(h[60:]))
	case elfClass32:
		var h [52]byte
		if _, err := f.ReadAt(h[:], 0); err != nil {
			return nil, err
		}
		e.Machine = o.Uint16(h[18:])
		phoff, shoff = uint64(o.Uint32(h[28:])), uint64(o.Uint32(h[32:]))
		phentsize, phnum = int(o.Uint16(h[42:])), int(o.Uint16(h[44:]))
		shentsize, shnum = int(o.Uint16(h[46:])), int(o.Uint16(h[48:]))
	default:
		return nil, fmt.Errorf("unknown ELF class %d", e.Class)
	}
	if phnum > 0 {
		b, err := readTable(f, phoff, phentsize, phnum, e.Class, 56, 32)
		if err != nil {
			return nil, fmt.Errorf("program headers: %v", err)
		}
		for i := 0; i < phnum; i++ {
			h := b[i*phentsize:]
			if e.Class == elfClass64 {
				e.progs = append(e.progs, elfProg{typ: o.Uint32(h), off: o.Uint64(h[8:]), filesz: o.Uint64(h[32:])})
			} else {
				e.progs = append(e.progs, elfProg{typ: o.Uint32(h), off: uint64(o.Uint32(h[4:])), filesz: uint64(o.Uint32(h[16:]))})
			}
		}
	}
	if shnum > 0 {
		b, err := readTable(f, shoff, shentsize, shnum, e.Class, 64, 40)
		if err != nil {
			return nil, fmt.Errorf("section headers: %v", err)
		}
		for i := 0; i < shnum; i++ {
			h := b[i*shentsize:]
			if e.Class == elfClass64 {
				e.secs = append(e.secs, elfSection{typ: o.Uint32(h[4:]), off: o.Uint64(h[24:]), size: o.Uint64(h[32:]), link: o.Uint32(h[40:])})
			} else {
				e.secs = append(e.secs, elfSection{typ: o.Uint32(h[4:]), off: uint64(o.Uint32(h[16:])), size: uint64(o.Uint32(h[20:])), link: o.Uint32(h[24:])})
			}
		}
	}
	return e, nil
}

// readTable reads num entries of entsize bytes at off (each at least the
// class's size of one).
func readTable(f *os.File, off uint64, entsize, num int, class byte, size64, size32 int) ([]byte, error) {
	min := size32
	if class == elfClass64 {
		min = size64
	}
	if entsize < min {
		return nil, fmt.Errorf("entry size %d too small", entsize)
	}
	b := make([]byte, entsize*num)
	if _, err := f.ReadAt(b, int64(off)); err != nil {
		return nil, err
	}
	return b, nil
}

// interpreter returns the PT_INTERP path, "" for a static binary.
func (e *elfFile) interpreter() (string, error) {
	for _, p := range e.progs {
		if p.typ != ptInterp {
			continue
		}
		b := make([]byte, p.filesz)
		if _, err := e.f.ReadAt(b, int64(p.off)); err != nil {
			return "", err
		}
		for len(b) > 0 && b[len(b)-1] == 0 {
			b = b[:len(b)-1]
		}
		return string(b), nil
	}
	return "", nil
}

func (e *elfFile) section(s elfSection) ([]byte, error) {
	if s.typ == shtNobits {
		return nil, errors.New("unexpected read from SHT_NOBITS section")
	}
	b := make([]byte, s.size)
	if _, err := e.f.ReadAt(b, int64(s.off)); err != nil {
		return nil, err
	}
	return b, nil
}

// dynStrings returns the strings of the dynamic entries with tag, in order
// (none without a dynamic section), as debug/elf's DynString.
func (e *elfFile) dynStrings(tag uint64) ([]string, error) {
	var ds *elfSection
	for i := range e.secs {
		if e.secs[i].typ == shtDynamic {
			ds = &e.secs[i]
			break
		}
	}
	if ds == nil {
		return nil, nil
	}
	d, err := e.section(*ds)
	if err != nil {
		return nil, err
	}
	size := 8
	if e.Class == elfClass64 {
		size = 16
	}
	if len(d)%size != 0 {
		return nil, errors.New("length of dynamic section is not a multiple of dynamic entry size")
	}
	if ds.link == 0 || int(ds.link) >= len(e.secs) {
		return nil, errors.New("section has invalid string table link")
	}
	str, err := e.section(e.secs[ds.link])
	if err != nil {
		return nil, err
	}
	var all []string
	for ; len(d) > 0; d = d[size:] {
		var t, v uint64
		if e.Class == elfClass64 {
			t, v = e.order.Uint64(d), e.order.Uint64(d[8:])
		} else {
			t, v = uint64(e.order.Uint32(d)), uint64(e.order.Uint32(d[4:]))
		}
		if t != tag || v >= uint64(len(str)) {
			continue
		}
		for end := v; end < uint64(len(str)); end++ {
			if str[end] == 0 {
				all = append(all, string(str[v:end]))
				break
			}
		}
	}
	return all, nil
}
