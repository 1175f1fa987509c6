package mounts

import (
	"fmt"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// flagWord is what one word of a flag string does: set bits or clear them.
type flagWord struct {
	word  string
	set   uintptr
	clear uintptr
}

// flagWords are the words ParseFlags accepts, spelled as mount(8) spells
// them, sorted (a list of constants, not a map, so that nothing is built
// at start; TestFlagWordsSorted keeps the order).
var flagWords = []flagWord{
	{word: "async", clear: unix.MS_SYNCHRONOUS},
	{word: "atime", clear: unix.MS_NOATIME},
	{word: "bind", set: unix.MS_BIND},
	{word: "defaults"},
	{word: "dev", clear: unix.MS_NODEV},
	{word: "diratime", clear: unix.MS_NODIRATIME},
	{word: "dirsync", set: unix.MS_DIRSYNC},
	{word: "exec", clear: unix.MS_NOEXEC},
	{word: "lazytime", set: unix.MS_LAZYTIME},
	{word: "loud", clear: unix.MS_SILENT},
	{word: "mand", set: unix.MS_MANDLOCK},
	{word: "move", set: unix.MS_MOVE},
	{word: "noatime", set: unix.MS_NOATIME},
	{word: "nodev", set: unix.MS_NODEV},
	{word: "nodiratime", set: unix.MS_NODIRATIME},
	{word: "noexec", set: unix.MS_NOEXEC},
	{word: "nomand", clear: unix.MS_MANDLOCK},
	{word: "norelatime", clear: unix.MS_RELATIME},
	{word: "nosuid", set: unix.MS_NOSUID},
	{word: "private", set: unix.MS_PRIVATE},
	{word: "rbind", set: unix.MS_BIND | unix.MS_REC},
	{word: "rec", set: unix.MS_REC},
	{word: "relatime", set: unix.MS_RELATIME},
	{word: "remount", set: unix.MS_REMOUNT},
	{word: "ro", set: unix.MS_RDONLY},
	{word: "rprivate", set: unix.MS_PRIVATE | unix.MS_REC},
	{word: "rshared", set: unix.MS_SHARED | unix.MS_REC},
	{word: "rslave", set: unix.MS_SLAVE | unix.MS_REC},
	{word: "runbindable", set: unix.MS_UNBINDABLE | unix.MS_REC},
	{word: "rw", clear: unix.MS_RDONLY},
	{word: "shared", set: unix.MS_SHARED},
	{word: "silent", set: unix.MS_SILENT},
	{word: "slave", set: unix.MS_SLAVE},
	{word: "strictatime", set: unix.MS_STRICTATIME},
	{word: "suid", clear: unix.MS_NOSUID},
	{word: "sync", set: unix.MS_SYNCHRONOUS},
	{word: "unbindable", set: unix.MS_UNBINDABLE},
}

// lookupFlag is the flagWord for w.
func lookupFlag(w string) (flagWord, bool) {
	i, ok := slices.BinarySearchFunc(flagWords, w, func(f flagWord, w string) int { return strings.Compare(f.word, w) })
	if !ok {
		return flagWord{}, false
	}
	return flagWords[i], true
}

// FlagWords lists the words ParseFlags accepts, sorted.
func FlagWords() []string {
	words := make([]string, len(flagWords))
	for i, f := range flagWords {
		words[i] = f.word
	}
	return words
}

// ParseFlags turns a comma-separated list such as "nosuid,nodev,ro" into MS_*
// flags. Words are applied left to right, so "ro,rw" ends read-write. Items of
// the form key=value ("size=64m", "mode=755") are not flags: they are
// filesystem options and come back joined in data, in order. Any other word is
// an error naming it and listing the valid words.
func ParseFlags(s string) (flags uintptr, data string, err error) {
	var opts []string
	for _, w := range strings.Split(s, ",") {
		w = strings.TrimSpace(w)
		if w == "" {
			continue
		}
		if strings.Contains(w, "=") {
			opts = append(opts, w)
			continue
		}
		fw, ok := lookupFlag(w)
		if !ok {
			return 0, "", fmt.Errorf("mount flags: unknown flag %q (valid: %s; key=value items are filesystem options)",
				w, strings.Join(FlagWords(), ", "))
		}
		flags = flags&^fw.clear | fw.set
	}
	return flags, strings.Join(opts, ","), nil
}

// FormatFlags is the inverse of ParseFlags for display: the words for the
// bits set in flags, in a fixed order, with any unknown bits in hex.
func FormatFlags(flags uintptr) string {
	order := []struct {
		bit  uintptr
		word string
	}{
		{unix.MS_RDONLY, "ro"}, {unix.MS_NOSUID, "nosuid"}, {unix.MS_NODEV, "nodev"},
		{unix.MS_NOEXEC, "noexec"}, {unix.MS_SYNCHRONOUS, "sync"}, {unix.MS_REMOUNT, "remount"},
		{unix.MS_MANDLOCK, "mand"}, {unix.MS_DIRSYNC, "dirsync"}, {unix.MS_NOATIME, "noatime"},
		{unix.MS_NODIRATIME, "nodiratime"}, {unix.MS_BIND, "bind"}, {unix.MS_MOVE, "move"},
		{unix.MS_REC, "rec"}, {unix.MS_SILENT, "silent"}, {unix.MS_UNBINDABLE, "unbindable"},
		{unix.MS_PRIVATE, "private"}, {unix.MS_SLAVE, "slave"}, {unix.MS_SHARED, "shared"},
		{unix.MS_RELATIME, "relatime"}, {unix.MS_STRICTATIME, "strictatime"}, {unix.MS_LAZYTIME, "lazytime"},
	}
	var words []string
	for _, o := range order {
		if flags&o.bit != 0 {
			words = append(words, o.word)
			flags &^= o.bit
		}
	}
	if flags != 0 {
		words = append(words, fmt.Sprintf("0x%x", flags))
	}
	return strings.Join(words, ",")
}
