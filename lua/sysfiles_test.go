package lua

import (
	"os"
	"strings"
	"testing"
)

func TestSysFileArgumentErrors(t *testing.T) {
	s := newTestSession(t)
	d := t.TempDir()
	expectErrors(t, s, [][2]string{
		{`sys.stat()`, `bad argument #1 to 'sys.stat' (path must be a non-empty string, got no value)`},
		{`sys.stat("/nonexistent/x")`, `sys.stat: stat("/nonexistent/x"): ENOENT: a component of the path does not exist`},
		{`sys.lstat("/dev/null/x")`, `sys.lstat: lstat("/dev/null/x"): ENOTDIR`},
		{`sys.readdir("/dev/null")`, `sys.readdir: open("/dev/null", O_DIRECTORY): ENOTDIR`},
		{`sys.mkdir("/tmp", "0755")`, `sys.mkdir: mkdir("/tmp", 0755): EEXIST: the path already exists`},
		{`sys.mkdir("/tmp/x", 8192)`, `bad argument #2 to 'sys.mkdir' (mode must be a whole number from 0 to 4095, got 8192)`},
		{`sys.mkdir("/tmp/x", "9")`, `mode must be an octal mode such as "0755"`},
		{`sys.chmod("/tmp/x")`, `bad argument #2 to 'sys.chmod' (mode expected`},
		{`sys.rmdir("/")`, `sys.rmdir: rmdir("/"): EBUSY`},
		{`sys.rmdir("/proc/self")`, `sys.rmdir: rmdir("/proc/self"): ENOTDIR`},
		{`sys.mknod("` + d + `/n", "pipe")`, `bad argument #2 to 'sys.mknod' (type must be one of "char", "block" or "fifo", got "pipe")`},
		{`sys.mknod("` + d + `/n", "char")`, `bad argument #3 to 'sys.mknod' (major must be a number, got no value)`},
		{`sys.mknod("` + d + `/n", "char", 1, 2^20)`, `bad argument #4 to 'sys.mknod' (minor must be a whole number from 0 to 1048575`},
		{`sys.chown("/tmp")`, `bad argument #2 to 'sys.chown' (uid must be a number, got no value)`},
		{`sys.chown("/tmp", 0, 0, {folow = false})`, `unknown option folow: did you mean "follow"?`},
		{`sys.symlink("x")`, `bad argument #2 to 'sys.symlink' (path must be a non-empty string`},
		{`sys.symlink("x", "/tmp")`, `sys.symlink: symlink("x", "/tmp"): EEXIST`},
		{`sys.chdir("/nonexistent")`, `sys.chdir: chdir("/nonexistent"): ENOENT`},
		{`sys.umask("8")`, `bad argument #1 to 'sys.umask' (mask must be an octal mode`},
		{`sys.open("/nonexistent")`, `sys.open: open("/nonexistent"): ENOENT`},
		{`sys.open("/tmp", "wronly")`, `sys.open: open("/tmp"): EISDIR: a directory can only be opened for reading`},
		{`sys.open("/tmp", "rdonyl")`, `bad argument #2 to 'sys.open' (flag must be one of "rdonly", "wronly"`},
		{`sys.open("/tmp", "rdonyl")`, `got "rdonyl"; did you mean "rdonly"?`},
		{`sys.close(3)`, `bad argument #1 to 'sys.close' (a descriptor from sys.open expected, got number`},
		{`local f = sys.open("/"); sys.close(f); sys.close(f)`, `sys.close: close("/"): EBADF: the descriptor is not open`},
		{`local f = sys.open("/proc/self/ns/uts"); sys.close(f); ns.setns(f, "uts")`, `ns.setns: setns(-1, "uts"): EBADF: the namespace file descriptor is not valid`},
		{`local f = sys.open("/proc/self/ns/uts"); ns.setns(f, "net")`, `ns.setns: setns(`},
		{`local f = sys.open("/proc/self/ns/uts"); ns.setns(f, "user")`, `hint: use ns.clone or ns.spawn with "user"`},
	})
}

func TestSysFileCalls(t *testing.T) {
	s := newTestSession(t)
	d := t.TempDir()
	run(t, s, `
		local d = "`+d+`"
		local null = sys.stat("/dev/null")
		assert(null.type == "char" and null.rdev == "1:3" and null.perm == "0666", null.rdev)
		assert(type(null.mount_id) == "number" and null.inode > 0)
		assert(sys.lstat("/proc/self").type == "symlink" and sys.stat("/proc/self").type == "dir")
		local old = sys.umask("022")
		assert(sys.umask() == "0022")
		sys.mkdir(d .. "/a")
		assert(sys.stat(d .. "/a").perm == "0755", "umask 022 applies to mkdir's 0777")
		sys.chmod(d .. "/a", "0700")
		assert(sys.stat(d .. "/a").mode == tonumber("700", 8))
		sys.mknod(d .. "/a/fifo", "fifo")
		assert(sys.stat(d .. "/a/fifo").type == "fifo" and sys.stat(d .. "/a/fifo").perm == "0644")
		sys.symlink("fifo", d .. "/a/ln")
		local es = sys.readdir(d .. "/a")
		assert(#es == 2 and es[1].name == "fifo" and es[1].type == "fifo" and es[2].type == "symlink")
		local ok, err = pcall(sys.rmdir, d .. "/a")
		assert(not ok and err:find("ENOTEMPTY: the directory is not empty"), err)
		os.remove(d .. "/a/fifo"); os.remove(d .. "/a/ln")
		sys.rmdir(d .. "/a")
		sys.umask(old)
		local f = sys.open("/proc/self/ns/uts")
		assert(f.fd > 2 and f.path == "/proc/self/ns/uts" and not f.closed and tostring(f):find("^fd %d+"))
		sys.close(f)
		assert(f.closed and f.fd == -1)
	`)
	if os.Geteuid() != 0 {
		if err := runErr(t, s, `sys.mknod("`+d+`/null", "char", 1, 3)`); !strings.Contains(err, "EPERM: creating a device node needs CAP_MKNOD") {
			t.Fatalf("mknod as a user: %s", err)
		}
		return
	}
	run(t, s, `
		local d = "`+d+`"
		sys.mknod(d .. "/null", "char", 1, 3, "0600")
		local st = sys.stat(d .. "/null")
		assert(st.type == "char" and st.rdev == "1:3" and st.perm == "0600")
		sys.mknod(d .. "/ptmx", "char", 5, 2)
		assert(sys.stat(d .. "/ptmx").rdev == "5:2")
		sys.chown(d .. "/null", 65534, 65534)
		st = sys.stat(d .. "/null")
		assert(st.uid == 65534 and st.gid == 65534)
		-- join a namespace by descriptor: the descriptor keeps it alive
		ns.unshare("uts"); sys.hostname("by-fd")
		local f = sys.open("/proc/thread-self/ns/uts")
		ns.restore("uts")
		assert(sys.hostname() ~= "by-fd")
		ns.setns(f)      -- any type
		assert(sys.hostname() == "by-fd")
		ns.restore("uts")
		ns.setns(f, "uts")
		assert(sys.hostname() == "by-fd")
		ns.restore("uts")
		sys.close(f)
	`)
	// in a user namespace, root may make FIFOs but no device nodes
	if err := runErr(t, s, `
		local h = ns.clone({ns = "user,mnt", uid_map = "0 0 1", gid_map = "0 0 1"}, function()
			local ok, err = pcall(sys.mknod, "`+d+`/inner", "char", 1, 3)
			return err
		end)
		h:wait()
		error(tostring(h:result()))`); !strings.Contains(err, "EPERM: creating a device node needs CAP_MKNOD in the initial user namespace") {
		t.Fatalf("mknod in a user namespace: %s", err)
	}
}

func TestSysChrootedCannotCreateUserNamespace(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chroot needs CAP_SYS_CHROOT")
	}
	if _, err := os.Stat("/usr/bin/true"); err != nil {
		t.Skip("needs /usr/bin/true, to be /bin/true inside a chroot to /usr")
	}
	s := newTestSession(t)
	err := runErr(t, s, `
		local h = ns.clone("pid", function()
			sys.chroot("/usr"); sys.chdir("/")
			assert(sys.stat("/bin/true").type == "file")
			local ok, err = pcall(ns.spawn, {"/bin/true", ns = "user"})
			return err
		end)
		h:wait()
		error(tostring(h:result()))`)
	if !strings.Contains(err, "clone(user) + exec([\"/bin/true\"]): EPERM") || !strings.Contains(err, "a chrooted caller") {
		t.Fatalf("a chrooted caller creating a user namespace: want EPERM from clone, got %s", err)
	}
	t.Log(err)
}

// TestSysFileExamples runs the example of every file call's help.
func TestSysFileExamples(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the examples of mknod and chroot need root")
	}
	s := newTestSession(t)
	var out strings.Builder
	s.Stdout = &out
	wd, _ := os.Getwd()
	defer os.Chdir(wd) // sys.chdir's example moves the test process
	for _, f := range s.sysFileFuncs() {
		src := f.Example
		if _, err := s.Run(src, "example of sys."+f.Name); err != nil {
			t.Errorf("example of sys.%s: %v\n%s", f.Name, err, src)
		}
	}
	t.Log(out.String())
}
