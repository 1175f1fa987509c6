package lua

import (
	"os"
	"strings"
	"testing"
)

func TestRootfsArgumentErrors(t *testing.T) {
	s := newTestSession(t)
	for _, c := range []struct{ src, want string }{
		{`rootfs.build()`, `bad argument #1 to 'rootfs.build' (dir must be a non-empty string, got no value)`},
		{`rootfs.build("/tmp/x", {binaries=5})`, `bad argument #2 to 'rootfs.build' (option binaries must be a string or a list`},
		{`rootfs.build("/tmp/x", {nsh="yes"})`, `option nsh must be true or false, got string`},
		{`rootfs.build("/tmp/x", {binares={"/bin/sh"}})`, `unknown option binares: did you mean "binaries"?`},
		{`rootfs.build("/tmp/x", {files=3})`, `option files must be a table, got number`},
		{`rootfs.build("/tmp/x", {files={"text"}})`, `option files maps paths to their text ({["/etc/motd"]="hello\n"}), got [number]=string`},
		{`rootfs.build("/")`, `bad argument #1 to 'rootfs.build' (dir "/" is not empty`},
		{`rootfs.tmpdir("a/b")`, `bad argument #1 to 'rootfs.tmpdir' (prefix "a/b" must be a plain name without slashes)`},
		{`rootfs.tmpdir(5)`, `bad argument #1 to 'rootfs.tmpdir' (prefix must be a string, got number)`},
		{`rootfs.remove("/")`, `bad argument #1 to 'rootfs.remove' (refusing to remove /)`},
		{`rootfs.remove("/usr/..")`, `refusing to remove /`},
		{`rootfs.copy("/a")`, `bad argument #2 to 'rootfs.copy' (dst must be a non-empty string`},
		// kernel and file failures name the call
		{`rootfs.size("/nonexistent-nsh")`, `rootfs.size: lstat("/nonexistent-nsh"): ENOENT`},
		{`rootfs.deps("/nonexistent-nsh")`, `rootfs.deps: open("/nonexistent-nsh"): ENOENT`},
		{`rootfs.deps("/etc/hostname")`, `rootfs.deps: reading the ELF header of "/etc/hostname": not an ELF file`},
	} {
		if err := runErr(t, s, c.src); !strings.Contains(err, c.want) {
			t.Errorf("%s:\n  error %q\n  want  %q", c.src, err, c.want)
		}
	}
}

// A real rootfs through a Session: build, size, copy, deps, remove, and the
// tmpdir removed when the session ends.
func TestRootfsSession(t *testing.T) {
	s := newTestSession(t)
	vals, err := s.Run(`
local d = rootfs.tmpdir("rootfstest")
local r = rootfs.build(d .. "/img", {binaries = {"/bin/sh"}, files = {["/etc/motd"] = "hi\n"}})
assert(r.dir == d .. "/img" and r.files > 3 and r.bytes > 0 and r.size > 0, "build result")
assert(io.open(d .. "/img/etc/motd"):read("*a") == "hi\n", "extra file")
assert(rootfs.size(d .. "/img") == r.size, "size is what build reported")
local deps = rootfs.deps("/bin/sh")
local libc = false
for _, l in ipairs(deps) do libc = libc or l:find("libc%.so") ~= nil end
assert(libc, "sh needs libc: " .. table.concat(deps, " "))
rootfs.copy(d .. "/img", d .. "/copy")
assert(io.open(d .. "/copy/etc/motd"):read("*a") == "hi\n", "the copy has the file")
local ok, err = pcall(rootfs.copy, d .. "/img", d .. "/copy")
assert(not ok and err:find("not empty"), tostring(err))
rootfs.remove(d .. "/copy")
assert(io.open(d .. "/copy/etc/motd") == nil, "removed")
return d`, t.Name())
	if err != nil {
		t.Fatal(err)
	}
	dir := vals[0].String()
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("tmpdir %s is gone before the session ends: %v", dir, err)
	}
	for _, err := range s.Close() {
		t.Error(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("tmpdir %s survived the session: %v", dir, err)
	}
}
