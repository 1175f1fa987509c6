package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
)

// nshJSON runs nsh --json with args and decodes its standard output.
func nshJSON(t *testing.T, args ...string) any {
	t.Helper()
	out, errOut, code := nsh(t, "", append([]string{"--no-userns", "--json"}, args...)...)
	if code != 0 {
		t.Fatalf("nsh --json %q: exit %d: %s", args, code, errOut)
	}
	var v any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("nsh --json %q: not JSON: %v\n%s", args, err, out)
	}
	return v
}

// obj is v as a JSON object, failing the test when it is not one.
func obj(t *testing.T, v any, what string) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%s: %T in JSON, want an object: %v", what, v, v)
	}
	return m
}

func list(t *testing.T, v any, what string) []any {
	t.Helper()
	l, ok := v.([]any)
	if !ok || len(l) == 0 {
		t.Fatalf("%s: %T in JSON, want a non-empty array: %v", what, v, v)
	}
	return l
}

// hasKeys fails unless m has every key.
func hasKeys(t *testing.T, m map[string]any, what string, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			t.Errorf("%s: no %q in JSON %v", what, k, m)
		}
	}
}

// nsh --json -e CODE: one value is that value, several an array, none
// null; an expression or statements with return; errors are a JSON object
// on stderr with a non-zero exit.
func TestJSONCommandLine(t *testing.T) {
	if v := nshJSON(t, "-e", "1 + 1"); v != 2.0 {
		t.Errorf("1 + 1: %v", v)
	}
	if v := nshJSON(t, "-e", `local x = {a = {1, 2}} return x`); fmt.Sprint(v) != "map[a:[1 2]]" {
		t.Errorf("statements with return: %v", v)
	}
	if v := nshJSON(t, "-e", `1, "two", nil`); fmt.Sprint(v) != "[1 two <nil>]" {
		t.Errorf("several values: %v", v)
	}
	if v := nshJSON(t, "-e", `x = 1`); v != nil {
		t.Errorf("no value: %v, want null", v)
	}
	// each -e that returns values prints its own document; a set-up chunk
	// prints nothing
	out, _, code := nsh(t, "", "--no-userns", "--json", "-e", "x = 41", "-e", "x + 1", "-e", "x + 2")
	if code != 0 || out != "42\n43\n" {
		t.Errorf("three chunks: %d %q", code, out)
	}
	// a script's return values
	f := t.TempDir() + "/r.lua"
	os.WriteFile(f, []byte("return {ok = true, n = #arg}\n"), 0o644)
	if v := obj(t, nshJSON(t, f, "a", "b"), "script"); v["ok"] != true || v["n"] != 2.0 {
		t.Errorf("script: %v", v)
	}
	for _, c := range []struct{ code, want string }{
		{`ns.setns("utz", 1)`, "bad argument #2 to 'ns.setns'"},
		{`error("boom")`, "(command line):1: boom"},
		{`1 +`, "syntax error"},
		{`print`, "--json: the result cannot be written as JSON: the value is a function"},
		{`{f = 0/0}`, ".f is NaN"},
	} {
		out, errOut, code := nsh(t, "", "--no-userns", "--json", "-e", c.code)
		var e map[string]any
		if code != 1 || out != "" || json.Unmarshal([]byte(errOut), &e) != nil {
			t.Errorf("%s: exit %d, stdout %q, stderr %q: want exit 1 and a JSON object on stderr", c.code, code, out, errOut)
			continue
		}
		if msg, _ := e["error"].(string); !strings.Contains(msg, c.want) || e["exit"] != 1.0 {
			t.Errorf("%s: %v, want error containing %q and exit 1", c.code, e, c.want)
		}
	}
}

// Every view prints as JSON with its data (the fields it has in Lua), not
// the text it prints as at the prompt.
func TestJSONViewsCommandLine(t *testing.T) {
	needRoot(t)
	lab := fmt.Sprintf("gjc%d", os.Getpid()%10000)
	v := obj(t, nshJSON(t, "-e", `(function()
  local h = ns.spawn{"/bin/sleep", "30", ns = "pid,user,mnt,uts", hold = true}
  h:uid_map("0 0 1"); h:gid_map("0 0 1"); h:release()
  local l = net.lab{name = "`+lab+`", pin = false}
  l:bridge("br0", "10.53.60.1/24")
  l:link(l:node("n1"), "br0", {addr = "10.53.60.2/24"})
  local r = {h = h, ns = view.ns(h.pid), upid = view.upid(h.pid), tree = view.tree(), uidmap = view.uidmap(h.pid),
    nstree = view.nstree(), mounts = view.mounts(h.pid), mdiff = view.mounts(mount.list(), h.pid),
    links = view.links(l.n1), cgroup = view.cgroup(h.pid), lab = view.lab(l),
    labh = json.decode(json.encode(l))} -- while open: a closed lab's nodes have ended (no path)
  l:close(); h:kill(9); h:wait()
  return r
end)()`), "views")
	h := obj(t, v["h"], "process handle")
	pid := h["pid"]
	if list(t, h["argv"], "h.argv")[0] != "/bin/sleep" {
		t.Errorf("h: %v", h)
	}

	n := obj(t, v["ns"], "view.ns")
	hasKeys(t, n, "view.ns", "pid", "ns", "differs")
	hasKeys(t, obj(t, n["ns"], "view.ns.ns"), "view.ns.ns", "mnt", "uts", "ipc", "pid", "net", "user", "cgroup", "time")
	if d := obj(t, n["differs"], "view.ns.differs"); d["uts"] != true || d["user"] != true {
		t.Errorf("view.ns.differs: %v", d)
	}

	u := obj(t, v["upid"], "view.upid")
	hasKeys(t, u, "view.upid", "pid", "level", "cmd", "numbers")
	nums := list(t, u["numbers"], "view.upid.numbers")
	if u["level"] != 1.0 || len(nums) != 2 || obj(t, nums[1], "numbers[2]")["nr"] != 1.0 || obj(t, nums[0], "numbers[1]")["nr"] != pid {
		t.Errorf("view.upid: %v", u)
	}
	hasKeys(t, obj(t, nums[0], "numbers[1]"), "view.upid.numbers[1]", "nr", "ns", "init", "init_cmd")

	tr := obj(t, v["tree"], "view.tree")
	hasKeys(t, tr, "view.tree", "levels", "rows")
	hasKeys(t, obj(t, list(t, tr["rows"], "view.tree.rows")[0], "rows[1]"), "view.tree.rows[1]", "pid", "ppid", "nspid", "depth", "pidns", "boundary", "cmd")

	m := obj(t, v["uidmap"], "view.uidmap")
	hasKeys(t, m, "view.uidmap", "uid_map", "gid_map", "pid", "setgroups", "userns", "uid", "gid", "inside_uid", "inside_gid", "root_inside", "text")
	hasKeys(t, obj(t, list(t, m["uid_map"], "uid_map")[0], "uid_map[1]"), "uid_map[1]", "inside", "outside", "count")

	nt := obj(t, v["nstree"], "view.nstree")
	for _, k := range []string{"pid", "user"} {
		root := obj(t, list(t, nt[k], "view.nstree."+k)[0], "nstree root")
		hasKeys(t, root, "view.nstree."+k+"[1]", "type", "inode", "level", "parent", "owner", "members", "children")
	}

	row := obj(t, list(t, v["mounts"], "view.mounts")[0], "view.mounts[1]")
	hasKeys(t, row, "view.mounts[1]", "id", "parent", "root", "target", "fstype", "source", "options", "propagation", "kind")
	hasKeys(t, obj(t, v["mdiff"], "view.mounts diff"), "view.mounts(a, b)", "added", "removed", "changed")

	var names []string
	for _, l := range list(t, v["links"], "view.links") {
		lk := obj(t, l, "link")
		hasKeys(t, lk, "view.links[i]", "name", "index", "type", "state", "flags", "mtu", "mac", "addrs")
		names = append(names, lk["name"].(string))
	}
	if !strings.Contains(strings.Join(names, " "), "lo") {
		t.Errorf("view.links(l.n1): %v", names)
	}

	cg := obj(t, v["cgroup"], "view.cgroup")
	hasKeys(t, cg, "view.cgroup", "pid", "mode", "cgroups")
	c1 := obj(t, list(t, cg["cgroups"], "cgroups")[0], "cgroups[1]")
	hasKeys(t, c1, "view.cgroup.cgroups[1]", "id", "version", "controllers", "path", "limits", "usage")
	obj(t, c1["limits"], "limits")
	obj(t, c1["usage"], "usage")

	lb := obj(t, v["lab"], "view.lab")
	hasKeys(t, lb, "view.lab", "name", "nodes", "bridges")
	node := obj(t, list(t, lb["nodes"], "view.lab.nodes")[0], "nodes[1]")
	if node["name"] != "n1" {
		t.Errorf("view.lab.nodes: %v", lb["nodes"])
	}
	br := obj(t, list(t, lb["bridges"], "view.lab.bridges")[0], "bridges[1]")
	hasKeys(t, br, "view.lab.bridges[1]", "name", "addrs", "state", "ports")

	lh := obj(t, v["labh"], "lab")
	hasKeys(t, lh, "lab", "name", "dir", "pinned", "n1")
	hasKeys(t, obj(t, lh["n1"], "lab.n1"), "lab.n1", "name", "ip", "addrs", "path", "hostname", "env")
	for k, x := range v {
		if s, ok := x.(string); ok {
			t.Errorf("%s is a string in JSON (the printed text?): %q", k, s)
		}
	}
}

// nsh --json at the prompt prints values as JSON instead of tables.
func TestJSONREPL(t *testing.T) {
	needRoot(t)
	tm := startTerm(t, []string{"--no-userns", "--json"})
	tm.expect("# ")
	tm.send("{a = 1, list = {1, 2}}\r")
	tm.expect(`"a": 1,`)
	tm.expect(`"list": [`)
	tm.expect("# ")
	tm.send("print\r")
	tm.expect("--json: the value cannot be written as JSON: the value is a function: JSON has no functions")
	tm.send("1 + 1\r")
	tm.expect("2\r\n")
}
