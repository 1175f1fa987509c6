package lua

import (
	"fmt"
	"reflect"
	"time"

	glua "github.com/yuin/gopher-lua"
)

// nsWaitany waits for the first of several children to end.
func (s *Session) nsWaitany(L *glua.LState) int {
	t, ok := L.Get(1).(*glua.LTable)
	if !ok {
		return argErr(L, 1, "a list of process handles expected, got "+describe(L.Get(1)))
	}
	var hs []*procHandle
	var uds []*glua.LUserData
	for i := 1; i <= t.Len(); i++ {
		ud, ok := t.RawGetInt(i).(*glua.LUserData)
		h, ok2 := (*procHandle)(nil), false
		if ok {
			h, ok2 = ud.Value.(*procHandle)
		}
		if !ok2 {
			return argErr(L, 1, fmt.Sprintf("element %d is not a process handle (got %s)", i, describe(t.RawGetInt(i))))
		}
		if h.waited {
			continue
		}
		hs = append(hs, h)
		uds = append(uds, ud)
	}
	timeout, hasTimeout := argOptSeconds(L, 2, "timeout")
	if len(hs) == 0 {
		L.Push(glua.LNil)
		return 1
	}
	cases := make([]reflect.SelectCase, 0, len(hs)+2)
	for _, h := range hs {
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(h.p.Done())})
	}
	cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(s.Context().Done())})
	if hasTimeout {
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(time.After(timeout))})
	}
	i, _, _ := reflect.Select(cases)
	switch {
	case i == len(hs):
		return raiseErr(L, s.Context().Err())
	case i > len(hs):
		L.Push(glua.LNil)
		L.Push(glua.LString("timeout"))
		return 2
	}
	h := hs[i]
	st := h.p.Status()
	h.waited = true
	h.item.Forget()
	L.Push(uds[i])
	L.Push(glua.LNumber(st.Code))
	if st.Signal != "" {
		L.Push(glua.LString("signal"))
		L.Push(glua.LString(st.Signal))
		return 4
	}
	L.Push(glua.LString("exit"))
	return 3
}
