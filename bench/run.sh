#!/usr/bin/env bash
# make bench: every benchmark part in bench/NN-*.sh, in order, in one run, so
# nsh and the standard tools are measured on the same machine at the same time.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x ./nsh ] || make nsh
export NSH=$PWD/nsh
for part in bench/[0-9][0-9]-*.sh; do
  echo "### $(basename "$part" .sh)"
  bash "$part"
  echo
done
echo "### Go benchmarks"
go test -run '^$' -bench . -benchtime 20x ./runtime/... 2>&1 | grep -E '^(Benchmark|ok|PASS|FAIL)' || true
