#include "textflag.h"

// func rawClone3VM(args, size, pl uintptr) (pid, errno uintptr)
//
// clone3(args, size) for a child that shares the parent's memory
// (CLONE_VM) and runs on the stack clone_args names: the kernel starts it
// there, at the instruction after SYSCALL, so it must not return through
// the parent's frames. It calls childRun(pl), which ends in execve or
// exit; the parent returns at once with the child's pid or the errno.
TEXT ·rawClone3VM(SB),NOSPLIT|NOFRAME,$0-40
	MOVQ	args+0(FP), DI
	MOVQ	size+8(FP), SI
	MOVQ	pl+16(FP), R12	// kept across SYSCALL, and copied to the child
	MOVQ	$435, AX	// SYS_clone3
	SYSCALL
	CMPQ	AX, $0
	JEQ	child
	CMPQ	AX, $0xfffffffffffff001
	JLS	ok
	NEGQ	AX
	MOVQ	$0, pid+24(FP)
	MOVQ	AX, errno+32(FP)
	RET
ok:
	MOVQ	AX, pid+24(FP)
	MOVQ	$0, errno+32(FP)
	RET
child:
	SUBQ	$16, SP
	MOVQ	R12, 0(SP)
	CALL	·childRun(SB)
	MOVQ	$231, AX	// SYS_exit_group, if it ever returned
	MOVQ	$127, DI
	SYSCALL
	HLT
