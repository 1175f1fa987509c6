#!/usr/bin/env bash
# make bench: nsh against the standard tools, every comparison in
# interleaved pairs (bench/*.go, the nshbench program), then the Go
# benchmarks of the runtime packages. BENCH_QUICK=1 makes it a smoke run of a
# few seconds; arguments go to nshbench (e.g. -only 'container|startup',
# -pairs 2). The full run takes 5-8 minutes. Output: bench/out/last.txt, the
# Markdown table in bench/out/table.md, every sample in bench/out/samples.json.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "make bench: run as root (it makes namespaces, mounts and labs)"; exit 1; }

# The peers, installed from Debian when missing (for the benchmarks only).
need=()
for pair in bwrap:bubblewrap crun:crun lua5.4:lua5.4 ip:iproute2 unshare:util-linux nsenter:util-linux; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "make bench: installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

[ -x ./nsh ] || make nsh
mkdir -p bench/out
CGO_ENABLED=0 go build -o bench/out/nshbench ./bench
CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o bench/out/gofloor ./bench/floor
quick=()
[ -n "${BENCH_QUICK:-}" ] && quick=(-quick)
rc=0
./bench/out/nshbench -nsh ./nsh -md bench/out/table.md -json bench/out/samples.json "${quick[@]}" "$@" | tee bench/out/last.txt || rc=$?
[ -n "${BENCH_QUICK:-}" ] && exit $rc
[ $# -gt 0 ] && exit $rc

echo "### Go benchmarks (go test -bench; one process, no pairing: for regressions)"
{
  go test -run '^$' -bench . -benchtime 20x ./runtime/nsproc/ ./runtime/mounts/ ./lua/
  go test -run '^$' -bench . ./runtime/payload/
  go test -run '^$' -bench 'Startup' -benchtime 50x ./cmd/nsh/
  go test -run '^$' -bench 'Lab(10|100)$|NodeRun' -benchtime 5x ./runtime/netlab/
  go test -run '^$' -bench 'Lab1000$' -benchtime 2x ./runtime/netlab/
  go test -run '^$' -bench 'LabOptions100$' -benchtime 2x ./runtime/netlab/
  # lab:pingall at scale: N=100 full mesh, N=1000 sampled (lost replies per op)
  go test -run '^$' -bench 'PingAll' -benchtime 3x ./runtime/netlab/
} 2>&1 | grep -E '^(Benchmark|ok|PASS|FAIL|---)' | tee -a bench/out/last.txt || true
exit $rc
