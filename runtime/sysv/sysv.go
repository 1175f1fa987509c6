// Package sysv wraps the IPC objects the IPC-namespace experiment needs:
// System V message queues (msgget, msgsnd, msgrcv, msgctl), semaphore sets
// and shared memory (semshm.go), and POSIX message queues (mq_open,
// mq_unlink). Every call acts in the IPC namespace of the calling thread.
package sysv

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"unsafe"

	"nsh/runtime/kerr"

	"golang.org/x/sys/unix"
)

const (
	ipcCreat  = 0o1000
	ipcNowait = 0o4000
	ipcRmid   = 0
	msgNoerr  = 0o10000
	maxMsg    = 8192
)

var msgRules = kerr.Rules{
	{Errno: unix.ENOENT, Rule: "no queue with that key in this IPC namespace (each IPC namespace has its own set of System V objects)"},
	{Errno: unix.EINVAL, Rule: "no queue with that id in this IPC namespace, or a bad size"},
	{Errno: unix.EACCES, Rule: "the queue's permissions do not allow this"},
	{Errno: unix.EIDRM, Rule: "the queue was removed"},
	{Errno: unix.E2BIG, Rule: "the message is longer than the size asked for"},
}

// Msgget returns the id of the queue with key (creating it, mode 0600, when
// create is set); created says whether this call made it.
func Msgget(key int, create bool) (id int, created bool, err error) {
	return get(fmt.Sprintf("msgget(%d)", key), msgRules, uintptr(key), func(flags uintptr) (uintptr, unix.Errno) {
		id, _, e := unix.Syscall(unix.SYS_MSGGET, uintptr(key), flags, 0)
		return id, e
	}, create)
}

type msgbuf struct {
	mtype int64
	mtext [maxMsg]byte
}

// Msgsnd sends text (at most 8192 bytes) with a message type >= 1.
func Msgsnd(id, typ int, text []byte) error {
	if len(text) > maxMsg {
		return fmt.Errorf("message of %d bytes is longer than %d", len(text), maxMsg)
	}
	var m msgbuf
	m.mtype = int64(typ)
	copy(m.mtext[:], text)
	_, _, errno := unix.Syscall6(unix.SYS_MSGSND, uintptr(id), uintptr(unsafe.Pointer(&m)), uintptr(len(text)), ipcNowait, 0, 0)
	if errno != 0 {
		return kerr.New(fmt.Sprintf("msgsnd(%d)", id), errno, msgRules)
	}
	return nil
}

// Msgrcv receives one message without waiting (ok=false when none).
func Msgrcv(id, typ int) ([]byte, bool, error) {
	var m msgbuf
	n, _, errno := unix.Syscall6(unix.SYS_MSGRCV, uintptr(id), uintptr(unsafe.Pointer(&m)), maxMsg, uintptr(typ), ipcNowait|msgNoerr, 0)
	if errno == unix.ENOMSG {
		return nil, false, nil
	}
	if errno != 0 {
		return nil, false, kerr.New(fmt.Sprintf("msgrcv(%d)", id), errno, msgRules)
	}
	return append([]byte(nil), m.mtext[:n]...), true, nil
}

// Msgrm removes a queue.
func Msgrm(id int) error {
	_, _, errno := unix.Syscall(unix.SYS_MSGCTL, uintptr(id), ipcRmid, 0)
	if errno != 0 {
		return kerr.New(fmt.Sprintf("msgctl(%d, IPC_RMID)", id), errno, msgRules)
	}
	return nil
}

// Queue is one line of /proc/sysvipc/msg.
type Queue struct {
	Key, ID, Messages int
}

// Queues lists the System V queues of the calling thread's IPC namespace.
func Queues() ([]Queue, error) {
	b, err := os.ReadFile("/proc/sysvipc/msg")
	if err != nil {
		return nil, kerr.New(`read("/proc/sysvipc/msg")`, err, kerr.Rules{
			{Errno: unix.ENOENT, Rule: "the kernel has no System V IPC (CONFIG_SYSVIPC), or no procfs is mounted at /proc"},
		})
	}
	var out []Queue
	for i, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if i == 0 || len(f) < 5 {
			continue
		}
		key, _ := strconv.Atoi(f[0])
		id, _ := strconv.Atoi(f[1])
		qnum, _ := strconv.Atoi(f[4])
		out = append(out, Queue{Key: key, ID: id, Messages: qnum})
	}
	return out, nil
}

var mqRules = kerr.Rules{
	{Errno: unix.ENOENT, Rule: "no such POSIX queue in this IPC namespace (each IPC namespace has its own mqueue filesystem)"},
	{Errno: unix.EEXIST, Rule: "the queue exists already"},
	{Errno: unix.EACCES, Rule: "the queue's permissions do not allow this"},
}

// MqOpen opens (creates) a POSIX queue and closes the descriptor again.
func MqOpen(name string, create bool) error {
	p, err := unix.BytePtrFromString(strings.TrimPrefix(name, "/"))
	if err != nil {
		return err
	}
	flags := unix.O_RDONLY | unix.O_CLOEXEC
	if create {
		flags |= unix.O_CREAT
	}
	fd, _, errno := unix.Syscall6(unix.SYS_MQ_OPEN, uintptr(unsafe.Pointer(p)), uintptr(flags), 0o600, 0, 0, 0)
	if errno != 0 {
		return kerr.New(fmt.Sprintf("mq_open(%q)", name), errno, mqRules)
	}
	unix.Close(int(fd))
	return nil
}

// MqUnlink removes a POSIX queue.
func MqUnlink(name string) error {
	p, err := unix.BytePtrFromString(strings.TrimPrefix(name, "/"))
	if err != nil {
		return err
	}
	_, _, errno := unix.Syscall(unix.SYS_MQ_UNLINK, uintptr(unsafe.Pointer(p)), 0, 0)
	if errno != 0 {
		return kerr.New(fmt.Sprintf("mq_unlink(%q)", name), errno, mqRules)
	}
	return nil
}
