// Package mounts wraps the mount family of system calls (mount, umount2,
// pivot_root) for nsh: flag words parsed the way mount(8) spells them, errors
// that carry the kernel's rule for each errno, a parser for
// /proc/<pid>/mountinfo with propagation decoded, a diff of two mount tables,
// and the container root set-up (proc, sys, a minimal /dev, masked and
// read-only paths, pivot_root) in the order runc and bubblewrap use.
//
// Every function acts in the mount namespace of the calling OS thread; callers
// that moved their thread into a namespace must keep it locked.
package mounts
