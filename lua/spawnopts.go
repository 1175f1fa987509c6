package lua

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"nsh/runtime/nsproc"

	glua "github.com/yuin/gopher-lua"
)

// The options ns.spawn and ns.clone share. Each is described here once, for
// checking and for help texts.
var spawnOptionDoc = map[string]string{
	"ns":         "namespace types to create: \"pid,mnt\" or {\"pid\",\"mnt\"}",
	"uid_map":    "uid_map lines, e.g. \"0 1000 1\" (needs \"user\" in ns)",
	"gid_map":    "gid_map lines, e.g. \"0 1000 1\"",
	"setgroups":  "\"allow\" or \"deny\" (written before gid_map; default deny)",
	"hold":       "true: the child waits after clone until h:release()",
	"hostname":   "hostname set in the child (needs \"uts\")",
	"domainname": "NIS domain name set in the child (needs \"uts\")",
	"env":        "environment: a table {NAME=\"value\"} or list {\"NAME=value\"}",
	"cwd":        "working directory of the child",
	"stdin":      "\"inherit\" (default), \"null\", or a file path",
	"stdout":     "\"inherit\" (default), \"null\", or a file path (appended)",
	"stderr":     "\"inherit\" (default), \"null\", or a file path (appended)",
	"uid":        "uid to switch to in the child",
	"gid":        "gid to switch to in the child",
	"keep":       "true: leave the child running when nsh ends",
	"pgroup":     "true: own process group (the terminal's Ctrl-C does not reach it)",
	"join":       "existing namespaces to start in: a pid or handle with join_ns= types, or {net=\"/run/netns/x\", uts=path}",
	"join_ns":    "with join=pid: which of its namespaces to join (default all but user)",
}

// extraSpawnOptions lets other bindings (mount, cgroup) add options: each
// gets the value and the spec to fill.
var extraSpawnOptions = map[string]func(s *Session, v glua.LValue, spec *nsproc.Spec, so *spawnOpts) error{}

func optionNames() string {
	var n []string
	for k := range spawnOptionDoc {
		n = append(n, k)
	}
	for k := range extraSpawnOptions {
		if _, documented := spawnOptionDoc[k]; !documented {
			n = append(n, k)
		}
	}
	sort.Strings(n)
	return strings.Join(n, ", ")
}

// spawnOpts holds what parsing produced beyond the spec.
type spawnOpts struct {
	keep  bool
	files []*os.File // to close after start
	// afterStart steps run in the parent while the child is held (e.g.
	// adding it to a v1 cgroup); the child is released after them unless
	// the user asked for hold=true.
	afterStart []func(p *nsproc.Process) error
	// onEnd runs when nsh cleans the child up (e.g. removing its cgroup).
	onEnd     []func() error
	joinPid   int
	pgroupSet bool
	joinTypes nsproc.Set
	// checks run once every option is read (an option that needs another,
	// such as rootfs needing "mnt" in ns, whatever the table's order).
	checks []func(spec *nsproc.Spec) error
}

// parseSpawnOptions reads the named fields of t into spec. Numbered fields
// (argv) are the caller's business.
func (s *Session) parseSpawnOptions(t *glua.LTable, spec *nsproc.Spec, so *spawnOpts) error {
	var err error
	t.ForEach(func(k, v glua.LValue) {
		if err != nil {
			return
		}
		key, ok := k.(glua.LString)
		if !ok {
			return
		}
		err = s.spawnOption(string(key), v, spec, so)
	})
	if err == nil && (len(spec.UIDMap) > 0 || len(spec.GIDMap) > 0) && !spec.Types.Has(nsproc.User) {
		err = fmt.Errorf("uid_map/gid_map need a new user namespace: add \"user\" to ns")
	}
	for _, c := range so.checks {
		if err == nil {
			err = c(spec)
		}
	}
	if err == nil && so.joinPid > 0 {
		ts := so.joinTypes
		if ts.Empty() {
			ts = nsproc.All.Without(nsproc.User)
		}
		spec.Join = nsproc.JoinPaths(so.joinPid, ts)
	}
	if err == nil && spec.Types.Has(nsproc.User) {
		defaultCredentials(spec)
	}
	if err == nil && (spec.Setup.Hostname != "" || spec.Setup.Domainname != "") && !spec.Types.Has(nsproc.UTS) {
		err = fmt.Errorf("hostname/domainname need a new UTS namespace: add \"uts\" to ns (else the host's name would change)")
	}
	return err
}

// hasType is for lab.go until it uses nsproc.Set (transition; nothing
// else calls it).
func hasType(ts []nsproc.Type, name string) bool {
	for _, t := range ts {
		if t.Name == name {
			return true
		}
	}
	return false
}

func (s *Session) spawnOption(key string, v glua.LValue, spec *nsproc.Spec, so *spawnOpts) error {
	str := func() (string, error) {
		if sv, ok := v.(glua.LString); ok {
			return string(sv), nil
		}
		if nv, ok := v.(glua.LNumber); ok {
			return nv.String(), nil
		}
		return "", fmt.Errorf("option %s must be a string, got %s", key, typeName(v))
	}
	switch key {
	case "ns":
		words, err := stringList(s.L, v, "ns")
		if err != nil {
			return err
		}
		if len(words) == 0 {
			return nil
		}
		ts, err := nsproc.ParseSet(words...)
		if err != nil {
			return fmt.Errorf("option ns: %v", err)
		}
		spec.Types = ts
	case "uid_map", "gid_map":
		text, err := str()
		if err != nil {
			return err
		}
		m, err := nsproc.ParseIDMap(text)
		if err != nil {
			return fmt.Errorf("option %s: %v", key, err)
		}
		if key == "uid_map" {
			spec.UIDMap = m
		} else {
			spec.GIDMap = m
		}
	case "setgroups":
		text, err := str()
		if err != nil {
			return err
		}
		if text != "allow" && text != "deny" {
			return fmt.Errorf("option setgroups must be %s, got %q", choices("allow", "deny"), text)
		}
		spec.Setgroups = text
	case "hold", "keep", "pgroup":
		b, ok := v.(glua.LBool)
		if !ok {
			return fmt.Errorf("option %s must be true or false, got %s", key, typeName(v))
		}
		switch key {
		case "hold":
			spec.Hold = bool(b)
		case "keep":
			so.keep = bool(b)
			spec.NoPdeath = bool(b)
		case "pgroup":
			spec.OwnPgroup = bool(b)
			so.pgroupSet = true
		}
	case "hostname", "domainname":
		text, err := str()
		if err != nil {
			return err
		}
		if len(text) > 64 {
			return fmt.Errorf("option %s: at most 64 bytes, got %d", key, len(text))
		}
		if key == "hostname" {
			spec.Setup.Hostname = text
		} else {
			spec.Setup.Domainname = text
		}
	case "env":
		tv, ok := v.(*glua.LTable)
		if !ok {
			return fmt.Errorf("option env must be a table, got %s", typeName(v))
		}
		env := []string{}
		var err error
		tv.ForEach(func(k, val glua.LValue) {
			switch k.(type) {
			case glua.LString:
				env = append(env, k.String()+"="+val.String())
			case glua.LNumber:
				if _, ok := val.(glua.LString); !ok || !strings.Contains(val.String(), "=") {
					err = fmt.Errorf("option env: list entries must be \"NAME=value\" strings")
					return
				}
				env = append(env, val.String())
			}
		})
		if err != nil {
			return err
		}
		sort.Strings(env)
		spec.Env = env
	case "cwd":
		text, err := str()
		if err != nil {
			return err
		}
		spec.Dir = text
	case "stdin", "stdout", "stderr":
		text, err := str()
		if err != nil {
			return err
		}
		f, err := openStdio(key, text)
		if err != nil {
			return err
		}
		if f != nil {
			so.files = append(so.files, f)
		}
		switch key {
		case "stdin":
			spec.Stdin = f
		case "stdout":
			spec.Stdout = f
		default:
			spec.Stderr = f
		}
	case "uid", "gid":
		n, ok := v.(glua.LNumber)
		if !ok || float64(n) < 0 || float64(n) > 4294967294 || float64(n) != float64(int(n)) {
			return fmt.Errorf("option %s must be a whole number from 0 to 4294967294", key)
		}
		id := int(n)
		if key == "uid" {
			spec.UID = &id
		} else {
			spec.GID = &id
		}
	case "join":
		switch jv := v.(type) {
		case glua.LNumber:
			if float64(jv) < 1 || float64(jv) != float64(int(jv)) {
				return fmt.Errorf("option join: a pid must be a positive whole number")
			}
			so.joinPid = int(jv)
			return nil
		case *glua.LUserData:
			if h, ok := jv.Value.(*procHandle); ok {
				so.joinPid = h.p.Pid
				return nil
			}
		}
		return s.joinOption(v, spec)
	case "join_ns":
		words, err := stringList(s.L, v, "join_ns")
		if err != nil {
			return err
		}
		ts, err := nsproc.ParseSet(words...)
		if err != nil {
			return fmt.Errorf("option join_ns: %v", err)
		}
		so.joinTypes = ts
	default:
		if fn, ok := extraSpawnOptions[key]; ok {
			return fn(s, v, spec, so)
		}
		return fmt.Errorf("unknown option %q (valid options: %s)", key, optionNames())
	}
	return nil
}

func openStdio(key, text string) (*os.File, error) {
	switch text {
	case "inherit", "":
		return nil, nil
	case "null":
		return os.OpenFile(os.DevNull, os.O_RDWR, 0)
	}
	if key == "stdin" {
		f, err := os.Open(text)
		if err != nil {
			return nil, fmt.Errorf("option stdin: %v", err)
		}
		return f, nil
	}
	f, err := os.OpenFile(text, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("option %s: %v", key, err)
	}
	return f, nil
}

// defaultCredentials: a process that creates a user namespace keeps its
// uid, which the new uid_map may not map (root mapping "0 65534 1" is not
// itself inside). Like unshare(1) --map-user, become the first mapped id then,
// so the child is who the map says (root inside, 65534 outside).
func defaultCredentials(spec *nsproc.Spec) {
	if len(spec.UIDMap) > 0 && !mapsOutside(spec.UIDMap, os.Geteuid()) {
		id := spec.UIDMap[0].Inside
		spec.MapUID = &id
	}
	if len(spec.GIDMap) > 0 && !mapsOutside(spec.GIDMap, os.Getegid()) {
		id := spec.GIDMap[0].Inside
		spec.MapGID = &id
	}
}

func mapsOutside(m []nsproc.IDMap, id int) bool {
	for _, l := range m {
		if id >= l.Outside && id-l.Outside < l.Count {
			return true
		}
	}
	return false
}

// joinOption reads join = pid | handle | {type = path}.
func (s *Session) joinOption(v glua.LValue, spec *nsproc.Spec) error {
	switch v := v.(type) {
	case *glua.LTable:
		m := map[string]string{}
		var err error
		v.ForEach(func(k, p glua.LValue) {
			t, ok := nsproc.LookupType(k.String())
			if !ok {
				err = fmt.Errorf("option join: unknown namespace type %q (valid types: %s)", k.String(), nsproc.TypeNames())
				return
			}
			m[t.Name] = p.String()
		})
		spec.Join = m
		return err
	}
	return fmt.Errorf("option join must be a pid, a process handle or a table {net=path, ...}")
}
