// Command nsh is an embedded Lua shell for Linux namespace experiments.
//
// This file only wires: flags, the user-namespace re-exec, the child entry,
// the script runner and the REPL. The namespace work lives in runtime/, the
// Lua bindings in lua/.
//
// GOMAXPROCS is set once, at start (from the CPUs and the cgroup's limit
// then): the runtime's periodic re-reading of them (Go 1.25's default) was a
// goroutine started in every nsh and every re-executed child, and a script
// that moves nsh itself into a cgroup with cpu.max should not see the
// runtime retune itself under it.
//
//go:debug updatemaxprocs=0
package main

import (
	"fmt"
	"os"
	"runtime"
	"strings"

	"nsh/runtime/nsproc"
)

// The interpreter runs on the main goroutine, locked to the main thread for
// the life of the process: namespaces attach to threads, so every binding
// must run on this one thread (see docs/architecture.md).
func init() { runtime.LockOSThread() }

const version = "0.1.0"

const usage = `nsh: an embedded Lua shell for Linux namespace experiments

usage:
  nsh                      start the interactive shell (REPL)
  nsh FILE [ARGS...]       run a Lua script (arg[0] = FILE, arg[1..] = ARGS)
  nsh -e CODE              run CODE (may be repeated; runs before FILE)
  nsh -i FILE              run FILE, then stay interactive
  nsh -                    run a script read from standard input

options:
  -U, --userns             run in a new user namespace that maps you to root
                           (automatic when you are not root)
  --no-userns              never re-execute into a user namespace
  -h, --help               this help
  --version                the version
  --api-doc                print the Lua API reference (docs/api.md)
  --cleanup                remove what ended nsh processes of yours left behind
                           (children, pins, mounts, cgroups, labs, directories;
                           every nsh start does this too)
  --enter NODE [CMD...]    enter a node of a running lab (or /run/netns/NODE)
  --lab FILE               build the lab FILE describes (a Lua file returning
                           a description, see help(net.lab_from)) before the
                           prompt, -e CODE or script, as the global lab;
                           it is torn down when nsh ends
  --topo KIND[,SIZES]      likewise a canned topology, as Mininet's --topo:
                           single,3  linear,4  tree,2,3 (depth, fanout)  star,4
  --json                   print what each -e CODE (an expression, as at the
                           prompt, or statements with return) and FILE return
                           as JSON on stdout (null when none returns
                           anything), an error as {"error": ...} on stderr;
                           at the prompt, values print as JSON
  --record FILE.md         write the session (REPL or script) to FILE.md as
                           markdown: each input a lua block, its output below

At the prompt, help() lists the modules and help(ns.clone) explains one function.
`

type options struct {
	exprs       []string
	file        string
	args        []string
	interactive bool
	userns      bool
	noUserns    bool
	apiDoc      bool
	enter       string
	json        bool   // results as JSON (--json)
	jsonPrinted bool   // a chunk's results were printed as JSON
	record      string // the markdown file of --record
	cleanup     bool   // --cleanup
	lab         string // --lab FILE
	topo        string // --topo SPEC
}

func parseArgs(argv []string) (*options, error) {
	o := &options{}
	for i := 0; i < len(argv); i++ {
		a := argv[i]
		switch {
		case a == "-e":
			if i+1 >= len(argv) {
				return nil, fmt.Errorf("-e needs a chunk of Lua")
			}
			i++
			o.exprs = append(o.exprs, argv[i])
		case a == "-i":
			o.interactive = true
		case a == "-U" || a == "--userns":
			o.userns = true
		case a == "--no-userns":
			o.noUserns = true
		case a == "--cleanup":
			o.cleanup = true
		case a == "--api-doc":
			o.apiDoc = true
		case a == "--json":
			o.json = true
		case a == "--record":
			if i+1 >= len(argv) {
				return nil, fmt.Errorf("--record needs a file name (FILE.md)")
			}
			i++
			o.record = argv[i]
		case a == "--lab" || a == "--topo":
			if i+1 >= len(argv) {
				return nil, fmt.Errorf("%s needs %s", a, map[string]string{"--lab": "a file describing the lab (FILE.lua)", "--topo": "a topology (tree,2,3)"}[a])
			}
			if o.lab != "" || o.topo != "" {
				return nil, fmt.Errorf("one lab at a time: --lab or --topo, once")
			}
			i++
			if a == "--lab" {
				o.lab = argv[i]
			} else {
				o.topo = argv[i]
			}
		case a == "--enter":
			if i+1 >= len(argv) {
				return nil, fmt.Errorf("--enter needs a node name")
			}
			o.enter, o.args = argv[i+1], argv[i+2:]
			return o, nil
		case a == "-h" || a == "--help":
			fmt.Print(usage)
			os.Exit(0)
		case a == "--version":
			fmt.Printf("nsh %s (%s, gopher-lua 5.1)\n", version, runtime.Version())
			os.Exit(0)
		case a == "--":
			if i+1 < len(argv) {
				o.file, o.args = argv[i+1], argv[i+2:]
			}
			return o, nil
		case a == "-":
			o.file, o.args = "-", argv[i+1:]
			return o, nil
		case strings.HasPrefix(a, "-"):
			return nil, fmt.Errorf("unknown option %q (see nsh --help)", a)
		default:
			o.file, o.args = a, argv[i+1:]
			return o, nil
		}
	}
	return o, nil
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == nsproc.ChildFlag {
		os.Exit(childMain())
	}
	o, err := parseArgs(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "nsh:", err)
		os.Exit(2)
	}
	if o.cleanup {
		os.Exit(cleanupLeftovers())
	}
	if o.enter != "" {
		os.Exit(enterNode(o.enter, o.args))
	}
	if wantUserns(o) {
		code, err := nsproc.ReexecInUserNS(os.Args[1:])
		if err != nil {
			fmt.Fprintln(os.Stderr, "nsh: could not start in a user namespace:", err)
			fmt.Fprintln(os.Stderr, "nsh: (user namespaces may be disabled: see /proc/sys/user/max_user_namespaces; run with --no-userns to stay unprivileged)")
			os.Exit(1)
		}
		os.Exit(code)
	}
	os.Exit(run(o))
}

// wantUserns decides whether to re-execute in a user namespace: on -U, or
// automatically for an ordinary user (so namespaces work without sudo),
// never twice.
func wantUserns(o *options) bool {
	if os.Getenv(nsproc.InUserNSEnv) != "" || o.noUserns || o.apiDoc {
		return false
	}
	return o.userns || os.Geteuid() != 0
}
