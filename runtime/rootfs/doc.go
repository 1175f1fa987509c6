// Package rootfs builds small root filesystems from the host, offline: the
// binaries asked for, the shared libraries they load (found from their ELF
// headers), a standard directory skeleton and /etc files. It also measures a
// tree's allocated size, copies trees (for the image and overlay
// experiments) and removes them without crossing into mounts (never "/").
//
// A file call the kernel refuses is a kerr.Error naming the call and the
// path; an input the package refuses (a non-empty target, no busybox on the
// host) is a plain error.
package rootfs
