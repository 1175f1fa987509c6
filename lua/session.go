package lua

import (
	"context"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"weak"

	"nsh/runtime/cleanup"
	"nsh/runtime/mounts"
	"nsh/runtime/nsproc"
	"nsh/runtime/procview"
	"nsh/runtime/sigs"

	glua "github.com/yuin/gopher-lua"
	"golang.org/x/sys/unix"
)

// Session is one interpreter with everything nsh keeps for it. It must be
// created and used on one goroutine locked to its OS thread (the "Lua
// thread"): bindings act on that thread's namespaces.
type Session struct {
	L      *glua.LState
	Reg    *cleanup.Registry
	Home   *nsproc.Home   // the namespaces the Lua thread started in
	Proc   *procview.Proc // the procfs seen at start
	Chunks *ChunkStore
	Stdout io.Writer
	Child  bool // this is a re-executed child running a shipped function
	// OuterMnt are the mount namespaces (inodes) that outlive this session
	// (a child's, from its parents: mounts.OuterEnv); none: the one it
	// started in.
	OuterMnt []uint64

	docList []docEntry           // every help record (addDoc)
	docs    map[glua.LValue]*Doc // built from docList on first use (docOf)
	// baseGlobals are nsh's own globals (as set up at start): a shipped
	// function's reads of these are not sent along.
	baseGlobals  map[string]glua.LValue
	pins         map[string]*cleanup.Item
	ipcObjects   map[string]*cleanup.Item // System V objects to remove at the end, by "sem 5" / "shm 7"
	mounts       *mounts.Undo             // which mounts are unmounted when the session ends (see mountUndo)
	held         map[string]heldNS
	labs         []*luaLab                  // the open labs (net.lab), oldest first
	monitors     []weak.Pointer[monitorRef] // net.monitor iterators, closed at the end
	nodeCaptures []*luaCapture              // node:capture_start captures, ended by node:stop
	modules      []*Module
	pending      []lazyModule    // modules not installed yet (lazy.go)
	moduleRank   map[string]int  // each module's place in help()'s order
	jsonNull     *glua.LUserData // json.null of this session
	recording    *recording      // record() / nsh --record, nil when off
	prelude      preludeState    // check()'s counts
	globals      []*Func
	hostNames    map[string]bool // host UTS names changed (host=true), to put back at the end
	warnedCaps   bool            // the warning about a container keeping the host's capabilities was given
	// labReservedInit builds the names lab.NAME keeps for the lab's own
	// members (labscale.go), on first use.
	labReservedInit func()

	// signals (syssig.go): the Table is made on first use; sigDue is set
	// from its goroutine when a Lua handler is to run.
	sig    sigState
	sigTab atomic.Pointer[sigs.Table]
	sigDue atomic.Bool
	// OwnSignal and RestoreSignal, set by the nsh the user started (cmd/nsh),
	// make "default" for its own signals (SIGINT, SIGTERM, ...) nsh's
	// cleanup again.
	OwnSignal     func(unix.Signal) bool
	RestoreSignal func(unix.Signal)

	ctx     context.Context
	cancel  context.CancelFunc
	chunkNo int
	// base is every chunk's parent context; Stop cancels it.
	base    context.Context
	stopAll context.CancelFunc
	// binding is the Lua name of the binding now running ("ns.clone"), for
	// its errors (see named in errors.go).
	binding string
	closed  bool
}

// sessionKey is where a Session keeps itself in its interpreter's registry,
// so that code holding only L (argErr, named) finds it; coroutines share the
// registry.
const sessionKey = "nsh.session"

// sessionOf is the Session that L belongs to, nil for a bare interpreter.
func sessionOf(L *glua.LState) *Session {
	if ud, ok := L.G.Registry.RawGetString(sessionKey).(*glua.LUserData); ok {
		if s, ok := ud.Value.(*Session); ok {
			return s
		}
	}
	return nil
}

// registryOptions let gopher-lua's value stack (its "registry") grow from
// 1,024 slots (16 KiB: a session's start needs a few dozen, and gopher-lua's
// default of 5,120 was 80 KiB of every start's memory) to 4 Mi (64 MiB at
// most, allocated only when used, in steps of 64 Ki slots): table.concat
// and unpack push every element, and a fixed registry made table.concat of
// 100,000 strings fail with "registry overflow".
var registryOptions = glua.Options{
	SkipOpenLibs:     true, // openLibs opens them, most on first use
	RegistrySize:     1024,
	RegistryMaxSize:  4 << 20,
	RegistryGrowStep: 1 << 16, // few copies on the way up
}

// NewSession builds an interpreter with nsh's modules (each installed on
// first use). Call it on the locked Lua thread.
func NewSession() (*Session, error) {
	home, err := nsproc.OpenHome()
	if err != nil {
		return nil, err
	}
	home.ExportHostUTS() // the children and an nsh run from this one learn which UTS namespace is the host's
	proc, err := procview.Open("/proc")
	if err != nil {
		return nil, err
	}
	s := &Session{
		L:          glua.NewState(registryOptions),
		Reg:        &cleanup.Registry{},
		Home:       home,
		Proc:       proc,
		Chunks:     &ChunkStore{},
		Stdout:     os.Stdout,
		docList:    make([]docEntry, 0, 64), // the globals' and types' at start; each module adds its own when installed
		pins:       map[string]*cleanup.Item{},
		ipcObjects: map[string]*cleanup.Item{},
		held:       map[string]heldNS{},
		ctx:        context.Background(),
	}
	s.base, s.stopAll = context.WithCancel(context.Background())
	ud := s.L.NewUserData()
	ud.Value = s
	s.L.G.Registry.RawSetString(sessionKey, ud)
	libs := s.openLibs()
	s.installLoaders()
	s.installGlobals()
	// The userdata types and json.null exist from the start: any module's
	// functions may return a handle, a lab or a null.
	s.installHandleType()
	s.installCgroupType()
	s.installLabTypes()
	s.installDNSHubType()
	s.jsonNull = s.newJSONNull()
	// Every module, in the order help() and docs/api.md list them, each
	// installed when its global is first read (lazy.go). A new module is
	// one constructor here and one file lua/NAME.go.
	s.lazyModules(append([]lazyModule{
		{name: "ns", make: s.nsModule}, {name: "sys", make: s.sysModule}, {name: "view", make: s.viewModule},
		{name: "cgroup", make: s.cgroupModule}, {name: "mount", make: s.mountModule}, {name: "rootfs", make: s.rootfsModule},
		{name: "net", make: s.netModule}, {name: "json", make: s.jsonModule},
	}, libs...)...)
	s.installPrelude()
	s.baseGlobals = map[string]glua.LValue{}
	s.L.G.Global.ForEach(func(k, v glua.LValue) {
		if ks, ok := k.(glua.LString); ok {
			s.baseGlobals[string(ks)] = v
		}
	})
	return s, nil
}

// Close undoes everything registered and closes the interpreter. A second
// Close does nothing.
func (s *Session) Close() []error {
	if s.closed {
		return nil
	}
	s.closed = true
	s.closeMonitors()
	if s.Child {
		s.HandOver(s.outlives)
	}
	errs := s.Cleanup(nil)
	if t := s.sigTab.Load(); t != nil {
		t.Close()
	}
	s.L.Close()
	return errs
}

// HandOver leaves, to the parent nsh, what this child made that outlives
// it (the journal is shared: the outermost nsh undoes it when it ends),
// as a process's mounts, cgroups, pins and System V objects outlive the
// process. match picks the items; without a journal nothing is handed over.
func (s *Session) HandOver(match func(*cleanup.Item) bool) int {
	if s.Reg.OpenedJournal() == nil {
		return 0
	}
	return s.Reg.HandOver(match)
}

// outlives: the item's every record is a thing the kernel keeps after the
// child ends: a mount or pin in a mount namespace that outlives the child
// (or the copies a shared mount gave such namespaces), a cgroup, a System V
// object of an IPC namespace the child did not create. A child process,
// a lab (its holders are children), a directory of the child's own
// filesystem view are the child's to end.
func (s *Session) outlives(it *cleanup.Item) bool {
	recs := it.Records()
	if len(recs) == 0 {
		return false
	}
	for _, r := range recs {
		switch r.Kind {
		case "cgroup", "ipc":
		case "mount", "pin":
			if r.Group == 0 && !s.mountUndo().Outer(r.NS) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// Cleanup undoes registered items (all when match is nil), newest first,
// printing nothing; the caller reports the errors.
func (s *Session) Cleanup(match func(*cleanup.Item) bool) []error {
	return s.Reg.Run(match)
}

// Context is the context of the chunk now running; blocking bindings end
// when it is cancelled (Ctrl-C, SIGTERM).
func (s *Session) Context() context.Context { return s.ctx }

// Interrupt cancels the running chunk. Safe from any goroutine.
func (s *Session) Interrupt() {
	if c := s.cancel; c != nil {
		c()
	}
}

// Stop interrupts the running chunk and every later one: an ns.clone
// child's stop request, which can come before its function has started.
func (s *Session) Stop() { s.stopAll() }

// beginChunk prepares a new cancellable context for one chunk.
func (s *Session) beginChunk() (tag int) {
	s.chunkNo++
	ctx, cancel := context.WithCancel(s.base)
	s.ctx, s.cancel = ctx, cancel
	s.L.SetContext(chunkCtx{Context: ctx, s: s})
	s.Reg.SetTag(s.chunkNo)
	return s.chunkNo
}

func (s *Session) endChunk() {
	if s.cancel != nil {
		s.cancel()
	}
	s.L.RemoveContext()
	s.ctx, s.cancel = context.Background(), nil
}

// Run compiles and runs src as one chunk named name, with args as `...`,
// returning the values it returns. Children and other things created by an
// interrupted chunk are undone.
func (s *Session) Run(src, name string, args ...glua.LValue) ([]glua.LValue, error) {
	fn, err := s.Chunks.Compile(s.L, src, name)
	if err != nil {
		return nil, err
	}
	return s.Call(fn, args...)
}

// Call runs fn as one chunk.
func (s *Session) Call(fn *glua.LFunction, args ...glua.LValue) (rets []glua.LValue, err error) {
	tag := s.beginChunk()
	defer s.endChunk()
	top := s.L.GetTop()
	s.L.Push(fn)
	for _, a := range args {
		s.L.Push(a)
	}
	err = s.L.PCall(len(args), glua.MultRet, nil)
	if err != nil {
		s.L.SetTop(top)
		if s.ctx.Err() != nil {
			s.Reg.Run(func(it *cleanup.Item) bool { return it.Tag == tag && strings.HasPrefix(it.What, "child ") })
			return nil, ErrInterrupted
		}
		return nil, cleanError(err)
	}
	for i := top + 1; i <= s.L.GetTop(); i++ {
		rets = append(rets, s.L.Get(i))
	}
	s.L.SetTop(top)
	return rets, nil
}

// Flush writes out Lua's buffered standard output, so a child forked now does
// not print it a second time. (os.Stdout itself buffers nothing: no fsync,
// which on a file would wait for the disk before every child.)
func (s *Session) Flush() {
	if io, ok := s.L.G.Global.RawGetString("io").(*glua.LTable); ok { // raw: an io nobody opened buffers nothing
		if out, ok := io.RawGetString("stdout").(*glua.LUserData); ok {
			if f, ok := out.Metatable.(*glua.LTable); ok {
				if idx, ok := f.RawGetString("__index").(*glua.LTable); ok {
					if fl, ok := idx.RawGetString("flush").(*glua.LFunction); ok {
						s.L.CallByParam(glua.P{Fn: fl, NRet: 0, Protect: true}, out)
					}
				}
			}
		}
	}
	// No os.Stdout.Sync(): Go's stdout has no buffer to write out, and an
	// fsync(1) of a file forces a journal commit (lab:node calls Flush).
}
