package netlab

import (
	"bufio"
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"nsh/runtime/kerr"
)

// The kernel keeps ONE neighbour table per protocol (arp_tbl, nd_tbl) for
// every network namespace on the machine, and its limits gc_thresh1/2/3
// (default 128/512/1024) are host-wide, settable only from the initial
// namespace. Past gc_thresh3, neigh_create fails and the packet that needed
// the entry is dropped without an error to its sender
// ("neighbour: arp_cache: neighbor table overflow!" in dmesg). A full mesh
// of N nodes would make about 2*N*(N-1) entries, so PingAll keeps only a
// window of pings in flight and deletes the entries each ping made as soon
// as no ping in flight needs them; entries that were there before stay.

// neighKey is one neighbour entry of a namespace: the device and the
// neighbour's address (the next hop: the target itself on a bridge).
type neighKey struct {
	link int
	ip   [16]byte
}

func keyOf(link int, ip net.IP) neighKey {
	k := neighKey{link: link}
	copy(k.ip[:], ip.To16())
	return k
}

// neighTable is PingAll's bookkeeping for one namespace: the entries found
// before it started (never deleted) and how many pings in flight use each
// entry they may create. mu also orders a deletion before the next ping that
// could need the entry, so no entry is deleted while a packet waits in it.
type neighTable struct {
	ns      *NS
	mu      sync.Mutex
	before  map[neighKey]bool
	refs    map[neighKey]int
	touched map[neighKey]bool // every entry a ping may have made, for the final sweep
	macs    map[int]net.HardwareAddr
	deleted int
	errs    []error
}

func newNeighTable(ns *NS, families []int) (*neighTable, error) {
	t := &neighTable{ns: ns, before: map[neighKey]bool{}, refs: map[neighKey]int{}, touched: map[neighKey]bool{}, macs: map[int]net.HardwareAddr{}}
	for _, fam := range families {
		list, err := ns.h.NeighList(0, fam)
		if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
			return nil, kerr.Newf(err, nil, "RTM_GETNEIGH dump in %s", ns.name)
		}
		for _, n := range list {
			if n.IP != nil {
				t.before[keyOf(n.LinkIndex, n.IP)] = true
			}
		}
	}
	return t, nil
}

// acquire notes that a ping may now make entry k. With mac (static
// resolution) the first claim writes the entry itself, reachable at mac
// (ip neigh add IP lladdr MAC dev LINK nud reachable), so no ARP broadcast
// or NDP multicast is needed; an entry already there is left as it is.
func (t *neighTable) acquire(k neighKey, mac net.HardwareAddr) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.refs[k]++
	t.touched[k] = true
	if mac == nil || t.refs[k] > 1 || t.before[k] {
		return
	}
	ip, fam := k.addr()
	err := t.ns.h.NeighAdd(&netlink.Neigh{LinkIndex: k.link, Family: fam, IP: ip, HardwareAddr: mac, State: netlink.NUD_REACHABLE})
	if err != nil && !errors.Is(err, unix.EEXIST) && len(t.errs) < 3 {
		t.errs = append(t.errs, kerr.Newf(err, nil, "RTM_NEWNEIGH %s lladdr %s in %s", ip, mac, t.ns.name))
	}
}

// linkMAC is the hardware address of link index in t's namespace (nil if
// it has none, as lo); t.mu is not held.
func (t *neighTable) linkMAC(index int) net.HardwareAddr {
	t.mu.Lock()
	defer t.mu.Unlock()
	if mac, ok := t.macs[index]; ok {
		return mac
	}
	var mac net.HardwareAddr
	if l, err := t.ns.h.LinkByIndex(index); err == nil && len(l.Attrs().HardwareAddr) == 6 {
		mac = l.Attrs().HardwareAddr
	}
	t.macs[index] = mac
	return mac
}

func (k neighKey) addr() (net.IP, int) {
	ip := net.IP(append([]byte(nil), k.ip[:]...))
	if v4 := ip.To4(); v4 != nil {
		return v4, netlink.FAMILY_V4
	}
	return ip, netlink.FAMILY_V6
}

// release drops a ping's claim on k; the last one deletes the entry unless
// it was there before pingall started (ip neigh del IP dev LINK).
func (t *neighTable) release(k neighKey) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.refs[k]--
	if t.refs[k] > 0 {
		return
	}
	delete(t.refs, k)
	if !t.before[k] {
		t.del(k)
	}
}

// del deletes entry k if it exists; t.mu is held.
func (t *neighTable) del(k neighKey) {
	ip, fam := k.addr()
	err := t.ns.h.NeighDel(&netlink.Neigh{LinkIndex: k.link, Family: fam, IP: ip})
	switch {
	case err == nil:
		t.deleted++
	case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ENODEV):
	default:
		if len(t.errs) < 3 {
			t.errs = append(t.errs, kerr.Newf(err, nil, "RTM_DELNEIGH %s in %s", ip, t.ns.name))
		}
	}
}

// sweep deletes what is left of the entries pings made (a request that
// arrived after its ping had timed out can make one late) and reports how
// many there were.
func (t *neighTable) sweep(families []int) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	left := 0
	for _, fam := range families {
		list, err := t.ns.h.NeighList(0, fam)
		if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
			continue
		}
		for _, n := range list {
			if n.IP == nil {
				continue
			}
			k := keyOf(n.LinkIndex, n.IP)
			if t.touched[k] && !t.before[k] && t.refs[k] == 0 && n.State&(unix.NUD_PERMANENT|unix.NUD_NOARP) == 0 {
				left++
				t.del(k)
			}
		}
	}
	return left
}

// NeighLimits are the host-wide limits of a neighbour table and how many
// entries it holds now, in every namespace (/proc/sys/net/ipv4/neigh/default/gc_thresh*
// and the "entries" column of /proc/net/stat/arp_cache; ndisc_cache for IPv6).
type NeighLimits struct {
	Thresh1, Thresh2, Thresh3 int
	Entries                   int
}

// ReadNeighLimits reads the limits of the IPv4 (arp_cache) or IPv6
// (ndisc_cache) neighbour table; values it cannot read are the kernel's
// defaults (128/512/1024) and Entries -1.
func ReadNeighLimits(v6 bool) NeighLimits {
	proto, stat := "ipv4", "/proc/net/stat/arp_cache"
	if v6 {
		proto, stat = "ipv6", "/proc/net/stat/ndisc_cache"
	}
	lim := NeighLimits{Thresh1: 128, Thresh2: 512, Thresh3: 1024, Entries: -1}
	for i, p := range []*int{&lim.Thresh1, &lim.Thresh2, &lim.Thresh3} {
		b, err := os.ReadFile("/proc/sys/net/" + proto + "/neigh/default/gc_thresh" + strconv.Itoa(i+1))
		if err == nil {
			if v, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				*p = v
			}
		}
	}
	if f, err := os.Open(stat); err == nil {
		sc := bufio.NewScanner(f)
		if sc.Scan() && sc.Scan() { // a header, then one line a CPU; entries is table-wide
			if fs := strings.Fields(sc.Text()); len(fs) > 0 {
				if v, err := strconv.ParseInt(fs[0], 16, 64); err == nil {
					lim.Entries = int(v)
				}
			}
		}
		f.Close()
	}
	return lim
}

// pingWindow is how many pings PingAll keeps in flight: each may make two
// entries (the pinger's for the target, the target's for the pinger), and
// together they stay within a quarter of the room left below gc_thresh2,
// so the lab never pushes the shared table into forced garbage collection.
func pingWindow(lim NeighLimits) int {
	room := lim.Thresh2
	if lim.Entries > 0 {
		room -= lim.Entries
	}
	w := room / 4 / 2
	if w > 64 {
		w = 64
	}
	if w < 2 {
		w = 2
	}
	return w
}

// announce has the node at ip send one Ethernet frame from its link that
// holds ip, addressed to its own MAC (ethertype 0x88b5, for local
// experiments). A bridge learns a port's MAC from the frames that come in
// on it, and until it has, a unicast frame to that MAC is flooded to every
// port, as a broadcast is; a frame to the sender's own MAC teaches the
// bridge and goes nowhere (the bridge does not send a frame back out of the
// port it came in on). Static resolution does this for every node before
// the pings, so no echo request is flooded. Best effort: an error only
// means the bridge learns the MAC from the first echo instead. It returns
// the packet socket, sent from, for the caller to close: closing one waits
// for an RCU grace period (packet_release calls synchronize_net), about
// 10 ms each, so the caller closes them many at a time, where grace
// periods are shared.
func announce(ns *NS, ip net.IP) (int, error) {
	fam := netlink.FAMILY_V4
	if ip.To4() == nil {
		fam = netlink.FAMILY_V6
	}
	addrs, err := ns.h.AddrList(nil, fam)
	if err != nil {
		return -1, err
	}
	index := 0
	for _, a := range addrs {
		if a.IP.Equal(ip) {
			index = a.LinkIndex
		}
	}
	if index == 0 {
		return -1, errors.New("no link holds the address")
	}
	l, err := ns.h.LinkByIndex(index)
	if err != nil {
		return -1, err
	}
	mac := l.Attrs().HardwareAddr
	if len(mac) != 6 {
		return -1, errors.New("the link has no Ethernet address")
	}
	const proto = 0x88b5
	var fd int
	derr := ns.Do(func() error {
		fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, int(htons(proto)))
		return nil
	})
	if derr != nil {
		if err == nil {
			unix.Close(fd)
		}
		return -1, derr
	}
	if err != nil {
		return -1, err
	}
	sa := &unix.SockaddrLinklayer{Protocol: htons(proto), Ifindex: index, Halen: 6}
	copy(sa.Addr[:], mac)
	return fd, unix.Sendto(fd, make([]byte, 46), unix.MSG_DONTWAIT, sa)
}

// closeAll closes fds, 64 at a time, in the background; wait waits until
// all are closed.
func closeAll(fds []int) (wait func()) {
	var wg sync.WaitGroup
	ch := make(chan int)
	for w := 0; w < 64 && w < len(fds); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for fd := range ch {
				unix.Close(fd)
			}
		}()
	}
	go func() {
		for _, fd := range fds {
			ch <- fd
		}
		close(ch)
	}()
	return wg.Wait
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }
