package lua

import (
	"fmt"
	"os"

	glua "github.com/yuin/gopher-lua"
)

// RunPayload is the work of a re-executed nsh child: rebuild the shipped
// function and arguments, call it, and turn what it returns into the exit
// code and the values sent back to the parent.
func (s *Session) RunPayload(payload []byte) ([]byte, int, error) {
	s.Child = true
	fn, args, err := s.Unship(payload)
	if err != nil {
		fmt.Fprintln(os.Stderr, "nsh child:", err)
		return nil, 1, err
	}
	f, ok := fn.(*glua.LFunction)
	if !ok {
		return nil, 1, fmt.Errorf("the shipped value is not a function")
	}
	rets, err := s.Call(f, args...)
	s.Flush()
	if err != nil {
		if !Interrupted(err) { // stopped by its parent (or Ctrl-C): no news to the user
			fmt.Fprintln(os.Stderr, "nsh child:", err)
		}
		return nil, 1, err
	}
	code := ExitCodeOf(rets)
	vals, encErr := s.EncodeValues(rets)
	if encErr != nil {
		fmt.Fprintln(os.Stderr, "nsh child: its return values cannot travel back:", encErr)
	}
	return vals, code, nil
}

// ExitCodeOf maps a function's return values to an exit code: a number is
// the code (0-255, as the kernel keeps it), true or nothing is 0, false is 1.
func ExitCodeOf(rets []glua.LValue) int {
	if len(rets) == 0 {
		return 0
	}
	switch v := rets[0].(type) {
	case glua.LNumber:
		return int(int64(v)) & 0xff
	case glua.LBool:
		if !v {
			return 1
		}
	}
	return 0
}
