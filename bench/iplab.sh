#!/usr/bin/env bash
# The ip(8) side of the lab comparison: the same lab as nsh's (N nodes on
# one bridge, one ping from the first node to the last, teardown by dropping
# the namespaces), built by a shell loop of ip commands, 5 a node (the veth
# peer made in its namespace, enslaved and up in one command). It runs inside
# `unshare -n -m` (own network and mount namespaces, a private tmpfs on
# /run/netns) so the machine's network is untouched. No ping(8) here: the
# ping is nsh's, started inside the first node, so it includes one nsh
# start-up. Prints "inner MS setup=MS ping=MS close=MS".
# Usage: iplab.sh N NSH
set -euo pipefail
exec unshare -n -m bash -c '
  set -e
  n=$1
  mkdir -p /run/netns && mount -t tmpfs tmpfs /run/netns
  addr() { local i=$(( $1 + 21 )); echo "10.53.$(( 57 + i / 250 )).$(( 1 + i % 250 ))"; }
  t0=$(date +%s%N)
  ip link add br0 type bridge forward_delay 0
  ip addr add 10.53.57.11/16 dev br0
  ip link set br0 up
  for ((j = 0; j < n; j++)); do
    ip netns add b$j
    ip -n b$j link set lo up
    ip link add v$j master br0 up type veth peer name eth0 netns b$j
    ip -n b$j addr add $(addr $j)/16 dev eth0
    ip -n b$j link set eth0 up
  done
  t1=$(date +%s%N)
  ip netns exec b0 "$2" --no-userns -e "assert(#net.ping(\"$(addr $((n - 1)))\", {timeout = 5}) == 1)"
  t2=$(date +%s%N)
  for ((j = 0; j < n; j++)); do ip netns del b$j; done
  ip link del br0
  t3=$(date +%s%N)
  awk -v a=$t0 -v b=$t1 -v c=$t2 -v d=$t3 "BEGIN { printf \"inner %.4f setup=%.4f ping=%.4f close=%.4f\n\", (d-a)/1e6, (b-a)/1e6, (c-b)/1e6, (d-c)/1e6 }"
' _ "$1" "$(readlink -f "$2")"
