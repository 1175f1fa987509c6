package caps

import (
	"encoding/json"
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"

	"nsh/runtime/kerr"
	"nsh/runtime/nsproc"
)

// Step as raw ops (nsproc/rawops.go), so a start with cap_drop= or
// no_new_privs= needs no re-executed nsh: the same prctl calls in the same
// order, each failing with the error runStep's Prctl gives.
func init() { nsproc.RegisterRawStep(Step, rawStep) }

func rawStep(b []byte, rb *nsproc.RawBuilder, _ nsproc.RawEnv) error {
	var a StepArgs
	if err := json.Unmarshal(b, &a); err != nil {
		return err
	}
	drop, _ := LookupOption("capbset_drop")
	for _, c := range a.Drop {
		rb.Call(prctlErr(drop, c), unix.SYS_PRCTL, drop.Set, uintptr(c), 0, 0, 0)
	}
	if a.NoNewPrivs {
		nnp, _ := LookupOption("no_new_privs")
		rb.Call(prctlErr(nnp, 1), unix.SYS_PRCTL, nnp.Set, 1, 0, 0, 0)
	}
	return nil
}

// prctlErr is Prctl's error for setting o to arg.
func prctlErr(o Option, arg int) nsproc.Explain {
	rules := prctlRules(o.Name)
	if rules == nil {
		rules = kerr.Rules{{Errno: unix.EINVAL, Rule: "the kernel refuses that value for this option"}}
	}
	call := fmt.Sprintf("prctl(%s, %d)", callName(o, true), arg)
	return func(e syscall.Errno, _ uint64) error { return kerr.New(call, e, rules) }
}
