//go:build !amd64

package nsproc

// vmClone: without rawClone3VM the raw set-up's child is a plain fork.
const vmClone = false

func rawClone3VM(args, size, pl uintptr) (pid, errno uintptr) { panic("rawClone3VM: amd64 only") }
