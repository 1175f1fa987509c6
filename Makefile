# nsh: build a static binary, run the tests, run the benchmarks.
GO      ?= go
GOFLAGS ?=
export CGO_ENABLED := 0

.PHONY: all nsh test unit scripts bench fuzz docs check clean

all: nsh

nsh:
	$(GO) build $(GOFLAGS) -trimpath -ldflags='-s -w' -o nsh ./cmd/nsh

# Everything: formatting, vet, unit tests, REPL tests, every bundled script
# (as root and as an ordinary user) under leakcheck, and a short fuzz run.
# Fuzz budgets are counts, not durations: with a duration, Go 1.26's fuzz
# coordinator can report a spurious "context deadline exceeded" at the end
# (go.dev/issue/75804, fixed in Go 1.27).
test: nsh check
	$(GO) test -p 1 -count=1 -timeout 40m ./...
	$(GO) test -count=1 -run '^$$' -fuzz FuzzBindings -fuzztime 1500x ./lua/

check:
	@test -z "$$(gofmt -l cmd lua runtime)" || { gofmt -l cmd lua runtime; echo 'gofmt: run gofmt -w'; exit 1; }
	$(GO) vet ./...
	@./nsh --api-doc | cmp -s - docs/api.md || { echo 'docs/api.md is stale: make docs'; exit 1; }

scripts: nsh
	$(GO) test -count=1 -run TestScripts -v ./cmd/nsh/

bench: nsh
	./bench/run.sh

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzBindings -fuzztime 40000x ./lua/

docs: nsh
	./nsh --api-doc > docs/api.md

clean:
	rm -f nsh
