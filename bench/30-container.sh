#!/usr/bin/env bash
# 30-container: time to start a container — new user, pid, mount, uts, ipc,
# net (and cgroup) namespaces, pivot_root into a rootfs, a new /proc, a
# minimal /dev, entry /bin/true — through nsh, bubblewrap, and unshare(1) plus
# a shell script, in the same run. $NSH is the nsh binary; N starts each.
set -euo pipefail
NSH=${NSH:-./nsh}
N=${N:-200}
work=$(mktemp -d /tmp/nsh-bench-container.XXXXXX)
trap 'rm -rf "$work"' EXIT
R=$work/rootfs
"$NSH" -e "rootfs.build('$R', {binaries = {'/bin/true', '/bin/sh', '/bin/umount', '/bin/mount'}})" >/dev/null

now() { date +%s%N; }
per() { # total_ns count -> microseconds per start
  echo $(( $1 / $2 / 1000 ))
}
cmp() { # other_us nsh_us -> "nsh is R x faster" or "... slower"
  if [ "$1" -ge "$2" ]; then printf 'nsh is %.2fx faster' "$(echo "$1 / $2" | bc -l)"
  else printf 'nsh is %.2fx slower' "$(echo "$2 / $1" | bc -l)"; fi
}

# nsh: one nsh process starting N containers (set-up done by the re-executed child)
t0=$(now)
"$NSH" -e "
for i = 1, $N do
  local h = ns.spawn{'/bin/true', ns = 'user,pid,mnt,uts,ipc,net,cgroup', uid_map = '0 0 1', gid_map = '0 0 1',
    rootfs = '$R', proc = true, dev = 'minimal'}
  assert(h:wait() == 0, 'container failed')
end"
t1=$(now)
nsh_us=$(per $((t1 - t0)) "$N")
# one nsh process starting one container (includes nsh's own start-up)
t0=$(now)
for _ in $(seq 1 20); do
  "$NSH" -e "assert(ns.spawn{'/bin/true', ns = 'user,pid,mnt,uts,ipc,net,cgroup', uid_map = '0 0 1', gid_map = '0 0 1', rootfs = '$R', proc = true, dev = 'minimal'}:wait() == 0)"
done
t1=$(now)
nsh1_us=$(per $((t1 - t0)) 20)

# unshare(1) + a shell script doing the same steps
cat >"$work/setup.sh" <<'SH'
set -e
R=$1
mount --make-rprivate /
mount --bind "$R" "$R"
mount -t proc -o nosuid,nodev,noexec proc "$R/proc"
mount -t tmpfs -o nosuid,mode=755,size=64k tmpfs "$R/dev"
# mknod is refused in a user namespace: bind the host's nodes, as nsh and bwrap do there
for n in null zero full random urandom tty; do
  : >"$R/dev/$n"; mount --bind "/dev/$n" "$R/dev/$n"
done
ln -s /proc/self/fd "$R/dev/fd"; ln -s /proc/self/fd/0 "$R/dev/stdin"
ln -s /proc/self/fd/1 "$R/dev/stdout"; ln -s /proc/self/fd/2 "$R/dev/stderr"
mkdir "$R/dev/pts" "$R/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666 devpts "$R/dev/pts"; ln -s pts/ptmx "$R/dev/ptmx"
cd "$R"
mkdir -p .old
pivot_root . .old
umount -l /.old
exec /bin/true
SH
t0=$(now)
for _ in $(seq 1 "$N"); do
  unshare --user --map-root-user --pid --fork --mount --uts --ipc --net --cgroup sh "$work/setup.sh" "$R"
done
t1=$(now)
unshare_us=$(per $((t1 - t0)) "$N")

echo "container start (user,pid,mnt,uts,ipc,net,cgroup + pivot_root + /proc + minimal /dev + /bin/true), $N starts each:"
printf '  %-44s %8d us/start\n' "nsh (one nsh, $N containers)" "$nsh_us"
printf '  %-44s %8d us/start\n' "nsh (a new nsh process per container)" "$nsh1_us"
printf '  %-44s %8d us/start   %s (%s counting its start-up)\n' "unshare(1) + shell script" "$unshare_us" "$(cmp "$unshare_us" "$nsh_us")" "$(cmp "$unshare_us" "$nsh1_us")"
if command -v bwrap >/dev/null; then
  t0=$(now)
  for _ in $(seq 1 "$N"); do
    bwrap --unshare-all --bind "$R" / --dev /dev --proc /proc /bin/true
  done
  t1=$(now)
  bwrap_us=$(per $((t1 - t0)) "$N")
  printf '  %-44s %8d us/start   %s (%s counting its start-up)\n' "bubblewrap (bwrap --unshare-all --dev --proc)" "$bwrap_us" \
    "$(cmp "$bwrap_us" "$nsh_us")" "$(cmp "$bwrap_us" "$nsh1_us")"
else
  echo "  bubblewrap: skipped (bwrap not installed: apt-get install bubblewrap)"
fi
