package lua

import (
	"fmt"
	"strings"
	"testing"
)

// lab:peer refuses wrong input naming the argument and the choices, says
// what is missing when the outer namespace has no underlay, and no
// argument of any shape makes it panic.
func TestLabPeerErrors(t *testing.T) {
	needRootLab(t)
	s := newTestSession(t)
	name := labName("p")
	run(t, s, fmt.Sprintf(`P = net.lab{name = %q, pin = false, helpers = false}; P:bridge("br0"); P:bridge("br1")`, name))
	for _, c := range []struct{ src, want string }{
		{`P:peer()`, `bad argument #2 to 'lab:peer' (a table {remote=, vni=, ...} expected`},
		{`P:peer{vni = 1}`, `options remote= (the other host's underlay address) and vni= (1..16777215) are required`},
		{`P:peer{remote = "x", vni = 1, bridge = "br0"}`, `bad argument #2 to 'lab:peer' (remote: want the other host's unicast IP address, got "x")`},
		{`P:peer{remote = "10.0.0.1", vni = 0}`, `option vni must be a whole number from 1 to 16777215, got 0`},
		{`P:peer{remote = "10.0.0.1", vni = 1, port = 0}`, `option port must be a whole number from 1 to 65535, got 0`},
		{`P:peer{remote = "10.0.0.1", vni = 1, sr = "x"}`, `did you mean "src"?`},
		{`P:peer{remote = "10.0.0.1", vni = 1}`, `bad argument #2 to 'lab:peer' (bridge: lab ` + name + ` has 2 bridges; say which one to extend)`},
		{`P:peer{remote = "10.0.0.1", vni = 1, bridge = "nobr"}`, `option bridge: lab ` + name + ` has no bridge "nobr" (bridges: br0, br1)`},
		{`P:peer{remote = "10.0.0.1", vni = 1, bridge = "br0", src = "fd00::1"}`, `both IPv4 or both IPv6`},
		{`P:peer{remote = "10.0.0.1", vni = 1, bridge = "br0", name = "a/b"}`, `bad link name "a/b"`},
		{`P:peer{remote = "10.0.0.1", vni = 1, bridge = "br0", underlay = {}}`, `is not a namespace`},
		{`P:peer{remote = "10.0.0.1", vni = 1, bridge = "br0"}`, `lab:peer: ip route get 10.0.0.1 in ` + name + ` (outer): ENETUNREACH: the underlay namespace has no route`},
	} {
		if err := runErr(t, s, c.src); !strings.Contains(err, c.want) {
			t.Errorf("%s: error %q, want %q", c.src, err, c.want)
		}
	}
	for _, a := range argPool {
		for _, src := range []string{`P:peer(` + a + `)`, `P:peer{remote = ` + a + `, vni = 1}`, `P:peer{remote = "10.0.0.1", vni = ` + a + `}`,
			`P:peer{remote = "10.0.0.1", vni = 1, bridge = "br0", underlay = ` + a + `}`} {
			if err := runErr(t, s, "local h, fd = nil, nil\n"+src); strings.Contains(err, "internal error") {
				t.Errorf("%s: %s", src, err)
			}
		}
	}
	run(t, s, `P:close()`)
	if err := runErr(t, s, `P:peer{remote = "10.0.0.1", vni = 1}`); !strings.Contains(err, "is closed") {
		t.Errorf("closed lab: %q", err)
	}
}
