# The unshare(1) + shell side of the container comparison: run as
#   unshare --user --map-root-user --pid --fork --mount --uts --ipc --net --cgroup sh container-setup.sh ROOTFS
# it does by hand what nsh's ns.spawn{rootfs=, proc=true, dev="minimal"} does.
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
