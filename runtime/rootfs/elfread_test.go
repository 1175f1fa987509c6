package rootfs

import (
	"debug/elf"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The hand-made reader (elfread.go) gives what debug/elf gives for every
// ELF file in the host's binary and library directories: class, machine,
// PT_INTERP, DT_NEEDED, DT_RPATH and DT_RUNPATH; and both refuse what is
// no ELF file.
func TestELFReaderIsDebugELF(t *testing.T) {
	var files []string
	for _, dir := range append([]string{"/bin", "/usr/bin", "/sbin", "/usr/sbin"}, LibDirs...) {
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range ents {
			if e.Type().IsRegular() {
				files = append(files, filepath.Join(dir, e.Name()))
			}
		}
	}
	if len(files) == 0 {
		t.Skip("no host binaries to compare with")
	}
	elfs := 0
	for _, p := range files {
		want, werr := elf.Open(p)
		got, gerr := openELFFile(p)
		if werr != nil || gerr != nil {
			if (werr == nil) != (gerr == nil) && !os.IsPermission(gerr) {
				// debug/elf also checks what Deps never reads (section
				// names, every header's sanity); only a file it accepts
				// and we refuse would change Deps
				if werr == nil {
					t.Errorf("%s: debug/elf reads it, openELFFile says %v", p, gerr)
				}
			}
			if want != nil {
				want.Close()
			}
			if got != nil {
				got.Close()
			}
			continue
		}
		elfs++
		if got.Class != byte(want.Class) || got.Machine != uint16(want.Machine) {
			t.Errorf("%s: class/machine %d/%d, debug/elf %v/%v", p, got.Class, got.Machine, want.Class, want.Machine)
		}
		var wantInterp string
		for _, pr := range want.Progs {
			if pr.Type == elf.PT_INTERP {
				b := make([]byte, pr.Filesz)
				pr.ReadAt(b, 0)
				wantInterp = strings.TrimRight(string(b), "\x00")
				break
			}
		}
		if gi, err := got.interpreter(); err != nil || gi != wantInterp {
			t.Errorf("%s: PT_INTERP %q (%v), debug/elf %q", p, gi, err, wantInterp)
		}
		for _, tag := range []struct {
			ours   uint64
			theirs elf.DynTag
		}{{dtNeeded, elf.DT_NEEDED}, {dtRpath, elf.DT_RPATH}, {dtRunpath, elf.DT_RUNPATH}} {
			g, gerr := got.dynStrings(tag.ours)
			w, werr := want.DynString(tag.theirs)
			if (gerr == nil) != (werr == nil) || !slices.Equal(g, w) {
				t.Errorf("%s: %v = %q (%v), debug/elf %q (%v)", p, tag.theirs, g, gerr, w, werr)
			}
		}
		want.Close()
		got.Close()
	}
	t.Logf("%d ELF files of %d compared", elfs, len(files))
	if _, err := openELFFile("/etc/passwd"); err == nil {
		t.Error("/etc/passwd read as an ELF file")
	}
}
