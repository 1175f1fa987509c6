package mounts

import (
	"fmt"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// flagWord is what one word of a flag string does: set bits or clear them.
type flagWord struct {
	set   uintptr
	clear uintptr
}

// flagWords are the words ParseFlags accepts, spelled as mount(8) spells them.
var flagWords = map[string]flagWord{
	"defaults":    {},
	"ro":          {set: unix.MS_RDONLY},
	"rw":          {clear: unix.MS_RDONLY},
	"nosuid":      {set: unix.MS_NOSUID},
	"suid":        {clear: unix.MS_NOSUID},
	"nodev":       {set: unix.MS_NODEV},
	"dev":         {clear: unix.MS_NODEV},
	"noexec":      {set: unix.MS_NOEXEC},
	"exec":        {clear: unix.MS_NOEXEC},
	"sync":        {set: unix.MS_SYNCHRONOUS},
	"async":       {clear: unix.MS_SYNCHRONOUS},
	"dirsync":     {set: unix.MS_DIRSYNC},
	"mand":        {set: unix.MS_MANDLOCK},
	"nomand":      {clear: unix.MS_MANDLOCK},
	"noatime":     {set: unix.MS_NOATIME},
	"atime":       {clear: unix.MS_NOATIME},
	"nodiratime":  {set: unix.MS_NODIRATIME},
	"diratime":    {clear: unix.MS_NODIRATIME},
	"relatime":    {set: unix.MS_RELATIME},
	"norelatime":  {clear: unix.MS_RELATIME},
	"strictatime": {set: unix.MS_STRICTATIME},
	"lazytime":    {set: unix.MS_LAZYTIME},
	"silent":      {set: unix.MS_SILENT},
	"loud":        {clear: unix.MS_SILENT},
	"remount":     {set: unix.MS_REMOUNT},
	"bind":        {set: unix.MS_BIND},
	"rbind":       {set: unix.MS_BIND | unix.MS_REC},
	"move":        {set: unix.MS_MOVE},
	"rec":         {set: unix.MS_REC},
	"private":     {set: unix.MS_PRIVATE},
	"rprivate":    {set: unix.MS_PRIVATE | unix.MS_REC},
	"shared":      {set: unix.MS_SHARED},
	"rshared":     {set: unix.MS_SHARED | unix.MS_REC},
	"slave":       {set: unix.MS_SLAVE},
	"rslave":      {set: unix.MS_SLAVE | unix.MS_REC},
	"unbindable":  {set: unix.MS_UNBINDABLE},
	"runbindable": {set: unix.MS_UNBINDABLE | unix.MS_REC},
}

// FlagWords lists the words ParseFlags accepts, sorted.
func FlagWords() []string {
	words := make([]string, 0, len(flagWords))
	for w := range flagWords {
		words = append(words, w)
	}
	sort.Strings(words)
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
		fw, ok := flagWords[w]
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
