package main

import (
	"fmt"
	"os"

	"nsh/lua"
	"nsh/runtime/nsproc"
)

// childMain is the entry of a re-executed nsh: a child started by ns.clone
// or by ns.spawn with set-up steps. It does nothing else.
func childMain() int {
	return nsproc.ChildMain(func(payload []byte) ([]byte, int, error) {
		s, err := lua.NewSession()
		if err != nil {
			fmt.Fprintln(os.Stderr, "nsh child:", err)
			return nil, 1, err
		}
		defer s.Close()
		return s.RunPayload(payload)
	})
}
