# nsh: build a static binary, run the tests, run the benchmarks.
GO      ?= go
GOFLAGS ?=
export CGO_ENABLED := 0

PREFIX  ?= /usr/local
DESTDIR ?=

.PHONY: all nsh install uninstall test unit scripts bench fuzz docs check clean

all: nsh

nsh:
	$(GO) build $(GOFLAGS) -trimpath -ldflags='-s -w' -o nsh ./cmd/nsh

# Installs the binary, the bundled experiments and the docs, so that
# `nsh PREFIX/share/nsh/scripts/pidns.lua` works from anywhere (DESTDIR for
# packaging, as usual).
install: nsh
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/nsh/scripts $(DESTDIR)$(PREFIX)/share/doc/nsh/docs
	install -m 0755 nsh $(DESTDIR)$(PREFIX)/bin/nsh
	install -m 0644 scripts/*.lua $(DESTDIR)$(PREFIX)/share/nsh/scripts/
	install -m 0644 README.md $(DESTDIR)$(PREFIX)/share/doc/nsh/
	install -m 0644 docs/*.md $(DESTDIR)$(PREFIX)/share/doc/nsh/docs/

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/nsh
	rm -rf $(DESTDIR)$(PREFIX)/share/nsh $(DESTDIR)$(PREFIX)/share/doc/nsh

# Everything: formatting, vet, unit tests, REPL tests, every bundled script
# (as root and as an ordinary user) under leakcheck, and a short fuzz run.
# Fuzz budgets are counts, not durations: with a duration, Go 1.26's fuzz
# coordinator can report a spurious "context deadline exceeded" at the end
# (go.dev/issue/75804, fixed in Go 1.27).
test: nsh check
	$(GO) test -p 1 -count=1 -timeout 40m ./...
	$(GO) test -count=1 -run '^$$' -fuzz FuzzBindings -fuzztime 1500x ./lua/

check:
	@test -z "$$(gofmt -l cmd lua runtime bench)" || { gofmt -l cmd lua runtime bench; echo 'gofmt: run gofmt -w'; exit 1; }
	$(GO) vet ./...
	@./nsh --api-doc | cmp -s - docs/api.md || { echo 'docs/api.md is stale: make docs'; exit 1; }

scripts: nsh
	$(GO) test -count=1 -run TestScripts -v ./cmd/nsh/

# nsh against bwrap, crun, unshare(1), lua5.4, ip netns exec, nsenter and
# plain Go, each comparison in interleaved pairs (bench/README.md); about 5
# minutes as root. BENCH_QUICK=1 make bench: a smoke run of ~20 s.
bench: nsh
	./bench/run.sh

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzBindings -fuzztime 40000x ./lua/

docs: nsh
	./nsh --api-doc > docs/api.md

clean:
	rm -f nsh
