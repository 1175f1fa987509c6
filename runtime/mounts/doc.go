// Package mounts wraps the mount family of system calls (mount, umount2,
// pivot_root, mount_setattr) for nsh: flag words parsed the way mount(8)
// spells them, errors that carry the kernel's rule for each errno
// (kerr.Error), a parser for /proc/<pid>/mountinfo with propagation decoded,
// a diff of two mount tables and their findmnt-like text.
//
// Container is a container's mount set-up as one typed description; its
// Steps run in the order runc and bubblewrap use (make / private, bind the
// new root onto itself, proc, sys, /dev, pivot_root, detach the old root,
// read-only paths, masks), in the calling process or, as the set-up step
// ContainerStep, in a child nsh. Undo is the policy deciding which mounts a
// session unmounts when it ends.
//
// Every function acts in the mount namespace of the calling OS thread; callers
// that moved their thread into a namespace must keep it locked. The package
// knows nothing of Lua; what to type in nsh instead is the bindings' business.
package mounts
