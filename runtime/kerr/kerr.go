// Package kerr turns a failed system call into an error a learner can act on:
// the call as the user wrote it, the kernel's errno name, and the kernel rule
// that most often explains that errno for that call. It does not decide what
// to do about the failure; callers return it unchanged up to the Lua layer,
// which prints it as one line.
package kerr

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// Error is a failed kernel call.
type Error struct {
	Call  string     // e.g. `setns(1234, "mnt")`
	Errno unix.Errno // 0 when the failure is not an errno
	Rule  string     // why the kernel says no, in one sentence; may be empty
	Err   error      // the underlying error when it is not an errno
}

func (e *Error) Error() string {
	msg := e.Call + ": "
	switch {
	case e.Errno != 0:
		msg += Name(e.Errno)
	case e.Err != nil:
		msg += e.Err.Error()
	default:
		msg += "failed"
	}
	if e.Rule != "" {
		msg += ": " + e.Rule
	}
	return msg
}

// Unwrap gives the errno and the underlying error, so errors.Is finds
// either (unix.EPERM, or a sentinel such as nsproc.ErrUserInPlace).
func (e *Error) Unwrap() []error {
	var out []error
	if e.Errno != 0 {
		out = append(out, e.Errno)
	}
	if e.Err != nil {
		out = append(out, e.Err)
	}
	return out
}

// Rules gives, for one call, the rule that explains each errno. It is a
// list, not a map: the tables are package-level variables, and a list of
// constants is laid out by the linker, where a map literal is built by code
// that every nsh and every re-executed child ran at start, before main.
// The first entry for an errno counts (Also puts a call's own rules before
// shared ones).
type Rules []Rule

// Rule is one entry of Rules.
type Rule struct {
	Errno unix.Errno
	Rule  string
}

// For is the rule for errno, or "".
func (r Rules) For(errno unix.Errno) string {
	for _, e := range r {
		if e.Errno == errno {
			return e.Rule
		}
	}
	return ""
}

// Also is r followed by more: r's rule for an errno wins over more's. It
// never changes r or more.
func (r Rules) Also(more Rules) Rules {
	return append(r[:len(r):len(r)], more...)
}

// New wraps err from call. If err carries an errno, the rule for that errno
// (from rules) is attached; nil err gives nil.
func New(call string, err error, rules Rules) error {
	if err == nil {
		return nil
	}
	var already *Error
	if errors.As(err, &already) {
		return err
	}
	e := &Error{Call: call}
	var errno unix.Errno
	if errors.As(err, &errno) {
		e.Errno = errno
		e.Rule = rules.For(errno)
	} else {
		e.Err = err
	}
	return e
}

// Newf is New with a formatted call description.
func Newf(err error, rules Rules, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return New(fmt.Sprintf(format, args...), err, rules)
}

// Name is the errno's symbolic name ("EPERM"), or its number when unknown.
func Name(errno unix.Errno) string {
	if n := unix.ErrnoName(errno); n != "" {
		return n
	}
	return fmt.Sprintf("errno %d", int(errno))
}
