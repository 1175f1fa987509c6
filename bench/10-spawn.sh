#!/usr/bin/env bash
# Spawning /bin/true in new namespaces: nsh's ns.spawn (timed inside nsh)
# against util-linux unshare(1) doing the same, in the same run; and nsh's
# start-up time. Prints milliseconds per spawn and the ratios.
set -euo pipefail
N=${N:-200}
NSH=${NSH:-./nsh}

# ms per run of a shell command line, over N runs
per_run() {
  local t0 t1
  t0=$(date +%s%N)
  for ((i = 0; i < N; i++)); do eval "$1" >/dev/null; done
  t1=$(date +%s%N)
  awk -v a="$t0" -v b="$t1" -v n="$N" 'BEGIN { printf "%.3f", (b - a) / n / 1e6 }'
}

# ms per ns.spawn (or ns.clone) measured inside one nsh
nsh_per_spawn() { # $1: ns types, $2: extra options, $3: "spawn" or "clone"
  "$NSH" --no-userns -e "
    local n, types, what = $N, '$1', '$3'
    local function one()
      if what == 'clone' then
        return ns.clone({ns = types $2}, function() return 0 end)
      end
      return ns.spawn{'/bin/true', ns = types $2}
    end
    for _ = 1, 5 do one():wait() end  -- warm up
    local t0 = sys.now()
    for _ = 1, n do assert(one():wait() == 0) end
    io.write(string.format('%.3f', (sys.now() - t0) / n * 1000))"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

NS=pid,mnt,uts,ipc,net
printf "%-64s %10s\n" "what (N=$N each)" "ms/run"
a=$(nsh_per_spawn "$NS" "" spawn)
b=$(per_run "unshare --pid --fork --mount --uts --ipc --net /bin/true")
printf "%-64s %10s\n" "nsh ns.spawn /bin/true, new $NS" "$a"
printf "%-64s %10s\n" "unshare --pid --fork --mount --uts --ipc --net /bin/true" "$b"
printf "%-64s %10s\n" "  ratio nsh/unshare (lower is better)" "$(ratio "$a" "$b")"

c=$(nsh_per_spawn "user,$NS" ", uid_map = '0 0 1', gid_map = '0 0 1'" spawn)
d=$(per_run "unshare --user --map-root-user --pid --fork --mount --uts --ipc --net /bin/true")
printf "%-64s %10s\n" "nsh ns.spawn /bin/true, new user,$NS (map 0 0 1)" "$c"
printf "%-64s %10s\n" "unshare --user --map-root-user ... /bin/true" "$d"
printf "%-64s %10s\n" "  ratio nsh/unshare (lower is better)" "$(ratio "$c" "$d")"

e=$(nsh_per_spawn "$NS" "" clone)
printf "%-64s %10s\n" "nsh ns.clone (re-executes nsh, runs a Lua function)" "$e"
printf "%-64s %10s\n" "  ratio clone/spawn (cost of a second Go runtime + Lua)" "$(ratio "$e" "$a")"

f=$(per_run "$NSH --no-userns -e ''")
g=$(per_run "/bin/true")
printf "%-64s %10s\n" "nsh start-up: nsh -e ''" "$f"
printf "%-64s %10s\n" "/bin/true (fork+exec from bash, the floor)" "$g"
