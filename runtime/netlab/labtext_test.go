package netlab

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"nsh/runtime/statedir"
)

// smallLab is a lab of two linked nodes and one without links.
func smallLab() LabDesc {
	return LabDesc{
		Name:    "tiny",
		Bridges: []BridgeDesc{{Name: "br0", CIDR: "10.53.57.1/24"}},
		Nodes: []NodeDesc{
			{Name: "h1", Addrs: []string{"10.53.57.2/24"}},
			{Name: "h2", Addrs: []string{"10.53.57.3/24"}},
			{Name: "idle"},
		},
		Links: []LinkDesc{
			{Node: "h1", Bridge: "br0", IfName: "eth0", BrName: "h1-br", CIDR: "10.53.57.2/24"},
			{Node: "h2", Bridge: "br0", IfName: "eth0", BrName: "h2-br", CIDR: "10.53.57.3/24"},
		},
	}
}

func TestLabDot(t *testing.T) {
	want := `graph "tiny" {
  graph [rankdir=LR, label="nsh lab tiny"];
  node [shape=box, fontname="monospace"];
  subgraph "cluster_tiny" {
    label="namespace tiny (outer)"; style=dashed;
    "br:br0" [shape=ellipse, label="br0\n10.53.57.1/24"];
    "hub:h1-br" [shape=point, xlabel="h1-br"];
    "hub:h2-br" [shape=point, xlabel="h2-br"];
  }
  "node:h1" [label="h1\neth0 10.53.57.2/24"];
  "node:h2" [label="h2\neth0 10.53.57.3/24"];
  "node:idle" [label="idle"];
  "br:br0" -- "hub:h1-br" [label="port"];
  "hub:h1-br" -- "node:h1" [label="veth h1-br = eth0"];
  "br:br0" -- "hub:h2-br" [label="port"];
  "hub:h2-br" -- "node:h2" [label="veth h2-br = eth0"];
}
`
	if got := smallLab().Dot(); got != want {
		t.Fatalf("Dot:\n%s\nwant:\n%s", got, want)
	}
	empty := LabDesc{Name: "e"}.Dot()
	if empty != "graph \"e\" {\n  graph [rankdir=LR, label=\"nsh lab e\"];\n  node [shape=box, fontname=\"monospace\"];\n"+
		"  subgraph \"cluster_e\" {\n    label=\"namespace e (outer)\"; style=dashed;\n  }\n}\n" {
		t.Fatalf("Dot of an empty lab:\n%s", empty)
	}
}

func TestHostsFile(t *testing.T) {
	nodes := []NodeDesc{
		{Name: "dc", Addrs: []string{"10.53.57.21/24", "fd00::21/64"}},
		{Name: "bad", Addrs: []string{"not-a-cidr"}},
		{Name: "none"},
		{Name: "m1", Addrs: []string{"10.53.57.30/24"}},
	}
	want := "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n" +
		"10.53.57.21\tdc\nfd00::21\tdc\n10.53.57.30\tm1\n"
	if got := HostsFile(nodes); got != want {
		t.Fatalf("HostsFile:\n%q\nwant\n%q", got, want)
	}

	// Rewriting keeps the inode (the nodes bind-mount the file).
	p := filepath.Join(t.TempDir(), "hosts")
	must(t, WriteHosts(p, nodes))
	st1, err := os.Stat(p)
	must(t, err)
	must(t, WriteHosts(p, nodes[:1]))
	st2, err := os.Stat(p)
	must(t, err)
	if !os.SameFile(st1, st2) {
		t.Fatal("WriteHosts replaced the file instead of rewriting it in place")
	}
	b, err := os.ReadFile(p)
	must(t, err)
	if want := "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n10.53.57.21\tdc\nfd00::21\tdc\n"; string(b) != want {
		t.Fatalf("after rewrite: %q, want %q", b, want)
	}
	if st2.Mode().Perm() != 0o644 {
		t.Fatalf("mode %v, want 0644", st2.Mode().Perm())
	}
	if err := WriteHosts(filepath.Join(p, "sub"), nodes); err == nil {
		t.Fatal("WriteHosts under a regular file succeeded")
	}
}

func TestFirstIP(t *testing.T) {
	for _, c := range []struct {
		in   []string
		want string
	}{
		{nil, ""},
		{[]string{"junk", "10.53.57.5/24", "10.53.57.6/24"}, "10.53.57.5"},
		{[]string{"fd00::1/64"}, "fd00::1"},
	} {
		if got := FirstIP(c.in); got != c.want {
			t.Errorf("FirstIP(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestNodeEnv(t *testing.T) {
	env := map[string]string{"REALM": "SAMBA.EXAMPLE.COM"}
	SetNodeEnv(env, "selftest", "ad_dc", "", "")
	want := map[string]string{"REALM": "SAMBA.EXAMPLE.COM", "NSH_LAB": "selftest", "NSH_NODE": "ad_dc", "SERVER": "ad_dc"}
	if !reflect.DeepEqual(env, want) {
		t.Fatalf("no address, no hostname: %v, want %v", env, want)
	}
	env["SERVER"] = "addc"
	SetNodeEnv(env, "selftest", "ad_dc", "10.53.57.21", "addc.samba.example.com")
	want["SERVER"] = "addc" // the user's SERVER stays
	want["SERVER_IP"] = "10.53.57.21"
	want["HOSTNAME"] = "addc.samba.example.com"
	if !reflect.DeepEqual(env, want) {
		t.Fatalf("with address and hostname: %v, want %v", env, want)
	}

	base := []string{"PATH=/bin", "SERVER=host"}
	got := Environ(base, map[string]string{"Z": "1", "SERVER": "dc", "A": "x=y"})
	if w := []string{"PATH=/bin", "SERVER=host", "A=x=y", "SERVER=dc", "Z=1"}; !reflect.DeepEqual(got, w) {
		t.Fatalf("Environ = %q, want %q", got, w)
	}
	if len(base) != 2 || base[1] != "SERVER=host" {
		t.Fatalf("Environ changed its base: %q", base)
	}
}

// awkward are values a shell would split, expand or end a quote on.
var awkward = []string{"", "plain", "it's", "two words", "$HOME `id` $(id)", "a\nb", `back\slash "dq"`, "'", "''x''", "*?[a]"}

func TestShellQuote(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("needs sh(1) to check the quoting")
	}
	for _, v := range awkward {
		out, err := exec.Command("sh", "-c", "printf %s "+shellQuote(v)).Output()
		if err != nil {
			t.Fatalf("sh -c printf %s: %v", shellQuote(v), err)
		}
		if string(out) != v {
			t.Errorf("shellQuote(%q) = %s: sh reads it back as %q", v, shellQuote(v), out)
		}
	}
	if got := shellQuote("it's"); got != `'it'\''s'` {
		t.Errorf("shellQuote(it's) = %s", got)
	}
}

func TestHelperScript(t *testing.T) {
	h := Helper{Lab: "selftest", Node: "ad_dc", NshPID: 4242, UserNS: "/proc/4242/ns/user", NetNS: "/run/netns/self'test-ad_dc",
		HolderPID: 4300, Namespaces: []string{"uts", "mnt", "user", "pid"},
		Env: map[string]string{"SERVER": "ad_dc", "PASSWORD": "it's $ecret", "REALM": "SAMBA.EXAMPLE.COM"}}
	want := `#!/bin/sh
# nsenter.sh for node ad_dc of nsh lab selftest (generated by nsh pid 4242; removed with the lab)
USERNS='/proc/4242/ns/user'
NETNS='/run/netns/self'\''test-ad_dc'
[ -e "$NETNS" ] || { echo "nsenter.sh: the lab is gone ($NETNS does not exist)" >&2; exit 1; }
U=
if [ "$(readlink /proc/self/ns/user)" != "$(readlink "$USERNS")" ]; then U="--user=$USERNS --preserve-credentials"; fi
U="--user=/proc/4300/ns/user --preserve-credentials"
[ $# -gt 0 ] || set -- "${SHELL:-/bin/sh}"
exec nsenter $U --net="$NETNS" --uts=/proc/4300/ns/uts --mount=/proc/4300/ns/mnt --pid=/proc/4300/ns/pid -- env 'PASSWORD=it'\''s $ecret' 'REALM=SAMBA.EXAMPLE.COM' 'SERVER=ad_dc' "$@"
`
	if got := h.Script(); got != want {
		t.Fatalf("Script:\n%s\nwant:\n%s", got, want)
	}

	// Without a holder the namespaces are ignored and no user namespace
	// but nsh's is entered.
	h2 := Helper{Lab: "l", Node: "n", NshPID: 1, UserNS: "/proc/1/ns/user", NetNS: "/proc/1/fd/7", Namespaces: []string{"uts"}}
	s2 := h2.Script()
	if strings.Contains(s2, "--uts") || strings.Count(s2, "U=\"--user=") != 1 {
		t.Fatalf("helper without holder:\n%s", s2)
	}
	if !strings.HasSuffix(s2, "exec nsenter $U --net=\"$NETNS\" -- env \"$@\"\n") {
		t.Fatalf("helper without holder or env ends wrong:\n%s", s2)
	}

	p := filepath.Join(t.TempDir(), HelperName)
	must(t, h.Write(p))
	st, err := os.Stat(p)
	must(t, err)
	if st.Mode().Perm()&0o111 == 0 {
		t.Fatalf("helper is not executable: %v", st.Mode())
	}
	if sh, err := exec.LookPath("sh"); err == nil {
		if out, err := exec.Command(sh, "-n", p).CombinedOutput(); err != nil {
			t.Fatalf("sh -n %s: %v: %s", p, err, out)
		}
		// The script stops before nsenter when the namespace is gone.
		out, err := exec.Command(sh, p, "true").CombinedOutput()
		if err == nil || !strings.Contains(string(out), "the lab is gone") {
			t.Fatalf("helper of a missing namespace: %v: %s", err, out)
		}
	}
}

func TestNsenterJoinArgs(t *testing.T) {
	got := NsenterJoinArgs(77, []string{"user", "mnt", "uts", "ipc", "cgroup"})
	want := []string{"--mount=/proc/77/ns/mnt", "--uts=/proc/77/ns/uts", "--ipc=/proc/77/ns/ipc", "--cgroup=/proc/77/ns/cgroup"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("NsenterJoinArgs = %q, want %q", got, want)
	}
	if got := NsenterJoinArgs(77, []string{"user"}); len(got) != 0 {
		t.Fatalf("user only: %q", got)
	}
}

func TestLabHelpers(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv(statedir.StateDirEnv, filepath.Join(tmp, "state"))
	t.Setenv("NSH_LAB_DIR", "")
	labs, err := LabsDir()
	must(t, err)
	mk := func(dir, lab string, pid int, nodes ...string) string {
		t.Helper()
		must(t, os.MkdirAll(dir, 0o755))
		if lab != "" {
			must(t, WriteLabMarker(dir, lab, pid))
		}
		for _, n := range nodes {
			must(t, os.MkdirAll(filepath.Join(dir, n), 0o755))
			must(t, os.WriteFile(filepath.Join(dir, n, HelperName), []byte("#!/bin/sh\n"), 0o755))
		}
		return dir
	}
	me := os.Getpid()
	alpha := mk(filepath.Join(labs, "alpha.1"), "alpha", me, "h1", "dc")
	beta := mk(filepath.Join(tmp, "beta"), "beta", me, "h1") // found only when named
	gone := mk(filepath.Join(labs, "gone.2"), "gone", me, "h1")
	// its nsh has ended: the recorded start time no longer matches
	must(t, os.WriteFile(filepath.Join(gone, LabMarker), []byte("gone "+strconv.Itoa(me)+" 1\n"), 0o600))
	mk(filepath.Join(labs, "nomarker.3"), "", 0, "h1") // not a lab

	b, err := os.ReadFile(filepath.Join(alpha, LabMarker))
	must(t, err)
	st, err := statedir.StartTime(me)
	must(t, err)
	if string(b) != fmt.Sprintf("alpha %d %d\n", me, st) {
		t.Fatalf("marker %q", b)
	}

	h := func(dir, node string) string { return filepath.Join(dir, node, HelperName) }
	for _, c := range []struct {
		name  string
		extra []string
		want  []string
	}{
		{"h1", nil, []string{h(alpha, "h1")}},
		{"h1", []string{beta}, []string{h(beta, "h1"), h(alpha, "h1")}},
		{"alpha/h1", []string{beta}, []string{h(alpha, "h1")}},
		{"alpha-dc", nil, []string{h(alpha, "dc")}},
		{"beta/h1", []string{beta}, []string{h(beta, "h1")}},
		{"dc", []string{alpha}, []string{h(alpha, "dc")}}, // listed twice, reported once
		{"nobody", []string{beta}, nil},
		{"gone/h1", nil, nil},
		{"../alpha.1/h1", nil, nil},
	} {
		if got, _ := LabHelpers(c.name, c.extra...); !reflect.DeepEqual(got, c.want) {
			t.Errorf("LabHelpers(%q, %q) = %q, want %q", c.name, c.extra, got, c.want)
		}
	}
	t.Setenv("NSH_LAB_DIR", beta)
	if got, _ := LabHelpers("h1"); !reflect.DeepEqual(got, []string{h(beta, "h1"), h(alpha, "h1")}) {
		t.Errorf("with NSH_LAB_DIR: %q", got)
	}
}

// TestLabHelpersRefusePlants: what another user (or a lax mode) put in
// reach of `nsh --enter` is never run (issue: the /tmp/nsh-lab-evil plant).
func TestLabHelpersRefusePlants(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to make files owned by another uid")
	}
	tmp := t.TempDir()
	t.Setenv(statedir.StateDirEnv, filepath.Join(tmp, "state"))
	t.Setenv("NSH_LAB_DIR", "")
	labs, err := LabsDir()
	must(t, err)
	me := os.Getpid()
	plant := func(name string, how func(dir string)) string {
		dir := filepath.Join(labs, name)
		must(t, os.MkdirAll(filepath.Join(dir, "ad_dc"), 0o755))
		must(t, WriteLabMarker(dir, name, me))
		must(t, os.WriteFile(filepath.Join(dir, "ad_dc", HelperName), []byte("#!/bin/sh\nid\n"), 0o755))
		how(dir)
		return dir
	}
	plant("foreign", func(d string) { must(t, os.Chown(filepath.Join(d, "ad_dc", HelperName), 1000, 1000)) })
	plant("foreigndir", func(d string) { must(t, os.Chown(d, 1000, 1000)) })
	plant("groupw", func(d string) { must(t, os.Chmod(filepath.Join(d, "ad_dc", HelperName), 0o775)) })
	plant("worldw", func(d string) { must(t, os.Chmod(filepath.Join(d, "ad_dc"), 0o777)) })
	plant("marker", func(d string) { must(t, os.Chown(filepath.Join(d, LabMarker), 1000, 1000)) })
	plant("link", func(d string) {
		p := filepath.Join(d, "ad_dc", HelperName)
		must(t, os.Remove(p))
		must(t, os.Symlink("/bin/true", p))
	})
	plant("pid1", func(d string) {
		// a marker naming a living process (PID 1) without its start time
		must(t, os.WriteFile(filepath.Join(d, LabMarker), []byte("pid1 1\n"), 0o600))
	})
	got, skipped := LabHelpers("ad_dc")
	if len(got) != 0 {
		t.Fatalf("planted helpers accepted: %q", got)
	}
	joined := strings.Join(skipped, "\n")
	for _, want := range []string{"belongs to uid 1000", "writable by others", "symbolic link", "not a marker nsh wrote"} {
		if !strings.Contains(joined, want) {
			t.Errorf("no skip reason %q in:\n%s", want, joined)
		}
	}
	// a state directory someone else made first is refused outright
	other := filepath.Join(tmp, "other")
	must(t, os.Mkdir(other, 0o700))
	must(t, os.Chown(other, 1000, 1000))
	t.Setenv(statedir.StateDirEnv, other)
	if _, err := LabsDir(); err == nil || !strings.Contains(err.Error(), "belongs to uid 1000") {
		t.Fatalf("foreign state directory: %v", err)
	}
}

func TestLabViewText(t *testing.T) {
	d := smallLab()
	d.Pinned = true
	v := &LabView{Desc: d,
		Bridges: []BridgeView{{Name: "br0", Addrs: []string{"10.53.57.1/24"}, State: "UP",
			Ports: []PortView{{"h1-br", "forwarding"}, {"h2-br", "learning"}}}},
		Nodes: []NodeView{
			{Name: "h1", Links: []LinkInfo{{Name: "lo", Type: "loopback", State: "UNKNOWN", Addrs: []string{"127.0.0.1/8"}},
				{Name: "eth0", Type: "veth", State: "UP", Addrs: []string{"10.53.57.2/24"}}}},
			{Name: "h2", Links: []LinkInfo{{Name: "eth0", Type: "veth", State: "LOWERLAYERDOWN", Addrs: []string{"10.53.57.3/24"}},
				{Name: "extra0", Type: "dummy", State: "DOWN"}}},
			{Name: "idle", Links: []LinkInfo{{Name: "lo", Type: "loopback", State: "UNKNOWN"}}},
		}}
	want := "lab tiny: 3 nodes, 1 bridges; hub in outer namespace tiny (/run/netns/tiny)\n" +
		"\n" +
		"  BRIDGE         ADDRESSES          STATE    PORTS\n" +
		"  br0            10.53.57.1/24      UP       h1-br(forwarding) h2-br(learning)\n" +
		"\n" +
		"  NODE           IFACE      STATE    ADDRESSES          HUB END        BRIDGE\n" +
		"  h1             eth0       UP       10.53.57.2/24      h1-br          br0\n" +
		"  h2             eth0       LOWERLAYERDOWN 10.53.57.3/24      h2-br          br0\n" +
		"                 extra0     DOWN     -                  -              -\n" +
		"  idle           (lo only) " // %-10s pads the marker
	if got := v.Text(); got != want {
		t.Fatalf("Text:\n%s\nwant:\n%s", got, want)
	}

	// No bridges: no bridge table. Past ViewMaxRows nodes are counted.
	big := &LabView{Desc: LabDesc{Name: "big"}}
	for i := 0; i < ViewMaxRows+2; i++ {
		n := "n" + strconv.Itoa(i)
		big.Desc.Nodes = append(big.Desc.Nodes, NodeDesc{Name: n})
		big.Nodes = append(big.Nodes, NodeView{Name: n})
	}
	got := big.Text()
	lines := strings.Split(got, "\n")
	if lines[0] != "lab big: 62 nodes, 0 bridges; hub in outer namespace big" || strings.Contains(got, "BRIDGE ") {
		t.Fatalf("header of a lab without bridges:\n%s", got)
	}
	if last := lines[len(lines)-1]; last != "  ... and 2 more nodes" {
		t.Fatalf("last line %q", last)
	}
	if strings.Contains(got, "n60 ") || !strings.Contains(got, "  n59            (lo only) \n") {
		t.Fatalf("rows past %d listed, or row %d missing:\n%s", ViewMaxRows, ViewMaxRows-1, got)
	}
}

// A real lab: View reads its hub and nodes, PingAll pings across it.
func TestLabViewAndPingAll(t *testing.T) {
	freshNet(t)
	l, err := NewLab(LabOptions{Name: "nshview"})
	must(t, err)
	t.Cleanup(func() { l.Close() })
	nodes := buildSelftest(t, l, []int{41, 42})
	d := LabDesc{Name: "nshview",
		Bridges: []BridgeDesc{{Name: "selftest0", CIDR: "10.53.57.11/24"}},
		Nodes:   []NodeDesc{{Name: "n41", Addrs: []string{"10.53.57.41/24"}}, {Name: "n42", Addrs: []string{"10.53.57.42/24"}}},
		Links: []LinkDesc{{Node: "n41", Bridge: "selftest0", IfName: "veth41", BrName: "veth41-br", CIDR: "10.53.57.41/24"},
			{Node: "n42", Bridge: "selftest0", IfName: "veth42", BrName: "veth42-br", CIDR: "10.53.57.42/24"}}}
	if got := l.Desc(); !reflect.DeepEqual(got, d) {
		t.Fatalf("Desc: %+v\nwant %+v", got, d)
	}
	v, err := l.View()
	must(t, err)
	if len(v.Bridges) != 1 || (v.Bridges[0].State != "UP" && v.Bridges[0].State != "UNKNOWN") || !reflect.DeepEqual(GlobalAddrs(v.Bridges[0].Addrs), []string{"10.53.57.11/24"}) {
		t.Fatalf("bridge view %+v", v.Bridges)
	}
	if got := v.Bridges[0].Ports; !reflect.DeepEqual(got, []PortView{{"veth41-br", "forwarding"}, {"veth42-br", "forwarding"}}) {
		t.Fatalf("ports after Wait: %+v", got)
	}
	if len(v.Nodes) != 2 || v.Nodes[0].Name != "n41" {
		t.Fatalf("node views %+v", v.Nodes)
	}
	var eth LinkInfo
	for _, lk := range v.Nodes[0].Links {
		if lk.Name == "veth41" {
			eth = lk
		}
	}
	if eth.State != "UP" || !reflect.DeepEqual(GlobalAddrs(eth.Addrs), []string{"10.53.57.41/24"}) {
		t.Fatalf("veth41 in the view: %+v", eth)
	}
	text := v.Text()
	if !strings.Contains(text, "  n41            veth41     UP       10.53.57.41/24     veth41-br      selftest0") ||
		!strings.Contains(text, "veth41-br(forwarding) veth42-br(forwarding)") {
		t.Fatalf("view text:\n%s", text)
	}

	// ghost has an address nobody holds: pings to it are lost; it pings
	// from n41's namespace, so its own pings arrive.
	targets := []PingTarget{{"n41", "10.53.57.41", nodeNS(t, nodes[41])}, {"n42", "10.53.57.42", nodeNS(t, nodes[42])},
		{"ghost", "10.53.57.99", nodeNS(t, nodes[41])}}
	r := PingAll("nshview", targets, 300*time.Millisecond)
	if r.Sent != 6 || r.OK != 4 || len(r.Failed) != 2 {
		t.Fatalf("PingAll: sent %d ok %d failed %q", r.Sent, r.OK, r.Failed)
	}
	if !strings.HasPrefix(r.Failed[0], "n41 -> ghost (10.53.57.99): ") || !strings.HasPrefix(r.Failed[1], "n42 -> ghost (10.53.57.99): ") {
		t.Fatalf("failures %q", r.Failed)
	}
	want := "pingall in lab nshview (rows ping columns; . ok, X lost)\n" +
		"               0 1 2\n" +
		"0 n41          - . X\n" +
		"1 n42          . - X\n" +
		"2 ghost        . . -\n" +
		"4 of 6 pings answered"
	if r.Text != want {
		t.Fatalf("PingAll text:\n%s\nwant:\n%s", r.Text, want)
	}
}

func TestPingAllNames(t *testing.T) {
	r := PingAll("l", nil, time.Second)
	if r.Sent != 0 || r.OK != 0 || r.Failed != nil || r.Text != "pingall in lab l (rows ping columns; . ok, X lost)\n              \n0 of 0 pings answered" {
		t.Fatalf("empty PingAll: %+v", r)
	}
	if trunc("a_very_long_node_name", 12) != "a_very_long_" || trunc("short", 12) != "short" {
		t.Fatal("trunc")
	}
}
