#!/usr/bin/env bash
# A lab of N nodes on one bridge (N = 10, 100, 1000): namespaces, veth pairs,
# addresses, links up, one ping from the first node to the last, teardown by
# dropping the namespaces. Three ways, in the same run:
#   nsh     a Lua script building it with net.lab, timing itself (sys.now)
#   go      the plain Go program over the same netlink library
#           (runtime/netlab BenchmarkLabN), the floor nsh is held to
#   ip      a shell loop of ip(8) commands doing the same, inside
#           `unshare -n -m` (own network and mount namespaces, a private
#           tmpfs on /run/netns) so the machine's network is untouched;
#           N=1000 is extrapolated from N=100 (it would take ~10 s), and said so.
# Nothing sleeps: nsh and Go wait for oper-up and forwarding through netlink;
# the ip loop uses forward_delay 0; its ping is nsh's (no ping(8) here), so
# its ping column includes one nsh start-up (~10 ms).
set -euo pipefail
NSH=${NSH:-./nsh}
SIZES=${SIZES:-"10 100 1000"}
cd "$(dirname "$0")/.."

# nsh: prints "setup ping close" in ms (median of R runs for small N)
nsh_lab() { # $1: N
  "$NSH" --no-userns -e "
    local n = $1
    local runs = n <= 100 and 5 or 3
    local function addr(i) return string.format('10.53.%d.%d', 57 + math.floor((i + 21) / 250), 1 + (i + 21) % 250) end
    local S, P, C = {}, {}, {}
    for r = 1, runs do
      local t0 = sys.now()
      local lab = net.lab{name = 'bench', pin = false, helpers = false}
      lab:bridge('br0', '10.53.57.11/16')
      for j = 0, n - 1 do
        local nd = lab:node('n' .. j)
        lab:link(nd, 'br0', {ifname = 'eth0', brname = 'v' .. j, addr = addr(j) .. '/16'})
      end
      lab:wait()
      local t1 = sys.now()
      local rtts, err = lab.n0:ping(addr(n - 1), {timeout = 5})
      assert(#rtts == 1, err)
      local t2 = sys.now()
      lab:close()
      local t3 = sys.now()
      S[r], P[r], C[r] = (t1 - t0) * 1000, (t2 - t1) * 1000, (t3 - t2) * 1000
    end
    local function med(t) table.sort(t) return t[math.floor((#t + 1) / 2)] end
    io.write(string.format('%.1f %.2f %.1f', med(S), med(P), med(C)))" 2>&1
}

# ip loop: prints "setup ping teardown" in ms
ip_lab() { # $1: N, $2: "tuned" (5 commands a node) or "steps" (8, as in the seeds)
  unshare -n -m bash -c '
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
      if [ "$3" = steps ]; then
        # step by step, as the Samba README (seed 000) does it by hand
        ip link add veth$j type veth peer name veth$j-br
        ip link set veth$j netns b$j
        ip link set veth$j-br master br0
        ip link set veth$j-br up
        ip -n b$j link set lo up
        ip -n b$j addr add $(addr $j)/16 dev veth$j
        ip -n b$j link set veth$j up
      else
        # tuned: the peer made in its namespace, enslaved and up in one command
        ip -n b$j link set lo up
        ip link add v$j master br0 up type veth peer name eth0 netns b$j
        ip -n b$j addr add $(addr $j)/16 dev eth0
        ip -n b$j link set eth0 up
      fi
    done
    t1=$(date +%s%N)
    # no ping(8) on this machine: nsh'"'"'s Go ping, started inside b0
    ip netns exec b0 "$2" --no-userns -e "assert(#net.ping(\"$(addr $((n - 1)))\", {timeout = 5}) == 1)"
    t2=$(date +%s%N)
    for ((j = 0; j < n; j++)); do ip netns del b$j; done
    ip link del br0
    t3=$(date +%s%N)
    awk -v a=$t0 -v b=$t1 -v c=$t2 -v d=$t3 "BEGIN { printf \"%.1f %.2f %.1f\", (b-a)/1e6, (c-b)/1e6, (d-c)/1e6 }"
  ' _ "$1" "$(readlink -f "$NSH")" "${2:-tuned}"
}

# the Go figure: setup, ping, close and the kernel's async cleanup, ms/op
go_lab() { # $1: N
  go test -run '^$' -bench "^BenchmarkLab$1\$" -benchtime "${2:-3}x" ./runtime/netlab/ 2>/dev/null |
    awk '/^BenchmarkLab/ { for (i = 1; i <= NF; i++) { if ($(i) == "setup-ms/op") s = $(i-1); if ($(i) == "ping-ms/op") p = $(i-1); if ($(i) == "close-ms/op") c = $(i-1); if ($(i) == "kcleanup-ms/op") k = $(i-1) } } END { printf "%s %s %s %s", s, p, c, k }'
}

r() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
sum() { awk -v a="$1" -v b="$2" -v c="$3" 'BEGIN { printf "%.1f", a + b + c }'; }

printf "%-6s %-6s %10s %9s %10s %10s  %s\n" "N" "how" "setup ms" "ping ms" "close ms" "total ms" "note"
declare -A IPT IPS
for n in $SIZES; do
  read -r ns np nc <<<"$(nsh_lab "$n")"
  read -r gs gp gc gk <<<"$(go_lab "$n" $([ "$n" -ge 1000 ] && echo 2 || echo 5))"
  nt=$(sum "$ns" "$np" "$nc"); gt=$(sum "$gs" "$gp" "$gc")
  if [ "$n" -le 100 ]; then
    read -r is ip_ ic <<<"$(ip_lab "$n" tuned)"
    it=$(sum "$is" "$ip_" "$ic"); IPT[$n]=$it; inote="measured: tuned loop, 5 ip commands a node"
    read -r ss sp sc <<<"$(ip_lab "$n" steps)"
    st=$(sum "$ss" "$sp" "$sc"); IPS[$n]=$st; snote="measured: step by step, 8 ip commands a node (seed 000)"
  else
    # linear in N (one fork+exec of ip per step): scale the N=100 figures
    it=$(awk -v t="${IPT[100]:-0}" -v n="$n" 'BEGIN { printf "%.1f", t * n / 100 }'); is=$it; ip_="-"; ic="-"
    st=$(awk -v t="${IPS[100]:-0}" -v n="$n" 'BEGIN { printf "%.1f", t * n / 100 }'); ss=$st; sp="-"; sc="-"
    inote="tuned, extrapolated from N=100 (x$((n / 100)))"; snote="step by step, extrapolated from N=100 (x$((n / 100)))"
  fi
  printf "%-6s %-6s %10s %9s %10s %10s  %s\n" "$n" "nsh" "$ns" "$np" "$nc" "$nt" "median of runs"
  printf "%-6s %-6s %10s %9s %10s %10s  %s\n" "$n" "go" "$gs" "$gp" "$gc" "$gt" "kernel cleanup after close: ${gk} ms"
  printf "%-6s %-6s %10s %9s %10s %10s  %s\n" "$n" "ip" "$is" "$ip_" "$ic" "$it" "$inote"
  printf "%-6s %-6s %10s %9s %10s %10s  %s\n" "$n" "ip8" "$ss" "$sp" "$sc" "$st" "$snote"
  printf "%-6s %-6s %10s %9s %10s %10s  %s\n" "$n" "ratio" "" "" "" "" "nsh/go $(r "$nt" "$gt") (target <= 1.2); ip/nsh $(r "$it" "$nt") tuned, $(r "$st" "$nt") step by step (target >= 10); ip/go $(r "$it" "$gt") tuned"
done
