// Package rootfs builds small root filesystems from the host, offline: the
// binaries asked for, the shared libraries they load (found from their ELF
// headers), a standard directory skeleton and /etc files. It also measures a
// tree's allocated size and copies trees, for the image and overlay
// experiments.
package rootfs
