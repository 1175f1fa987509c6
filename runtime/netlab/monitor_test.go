package netlab

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A monitor in namespace a sees a veth end appear there, and vanish when
// the namespace holding its peer is destroyed; `ip monitor link` in a (the
// reference) prints the same two events.
func TestMonitorVethPeerNamespaceGone(t *testing.T) {
	freshNet(t)
	a := newNS(t, "a")
	b, err := newNetNS("b", true)
	must(t, err)
	defer b.Close()
	if _, err := a.Monitor(Kinds{}); err == nil {
		t.Fatal("a monitor of nothing was accepted")
	}
	before := sockets(t)
	m, err := a.Monitor(Kinds{Links: true, Addrs: true})
	must(t, err)
	defer m.Close()
	if n := sockets(t); n != before+2 {
		t.Fatalf("a monitor of links and addresses: %d sockets, want %d", n, before+2)
	}

	// the reference: ip monitor link in a
	fd, err := unix.Dup(a.fd)
	must(t, err)
	f := os.NewFile(uintptr(fd), "ns")
	ip := exec.Command("nsenter", "--net=/proc/self/fd/3", "ip", "-o", "monitor", "link")
	ip.ExtraFiles = []*os.File{f}
	out, err := ip.StdoutPipe()
	must(t, err)
	if err := ip.Start(); err != nil {
		t.Skipf("ip monitor: %v", err)
	}
	f.Close()
	defer func() { ip.Process.Kill(); ip.Wait() }()
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	time.Sleep(300 * time.Millisecond) // ip has subscribed

	must(t, a.AddVeth("mon0", "mon1", b))
	must(t, a.AddAddr("mon0", "10.53.99.1/24", true))
	// events of two sockets (links, addrs) come in no fixed order between them
	var got []Event
	next := func(want func(Event) bool) Event {
		t.Helper()
		for _, e := range got {
			if want(e) {
				return e
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for {
			ev, err := m.Next(ctx, time.Time{})
			if err != nil {
				t.Fatalf("waiting for an event: %v", err)
			}
			t.Logf("event %+v", ev)
			got = append(got, ev)
			if want(ev) {
				return ev
			}
		}
	}
	ev := next(func(e Event) bool { return e.Kind == "link" && e.Name == "mon0" })
	if ev.Action != "new" || ev.Type != "veth" || ev.Index <= 0 {
		t.Fatalf("new veth: %+v", ev)
	}
	ad := next(func(e Event) bool { return e.Kind == "addr" })
	if ad.Action != "new" || ad.Addr != "10.53.99.1/24" || ad.IfName != "mon0" {
		t.Fatalf("new address: %+v", ad)
	}
	b.Close() // b's last reference: the kernel destroys it, and the veth pair with it
	del := next(func(e Event) bool { return e.Kind == "link" && e.Action == "del" })
	if del.Name != "mon0" || del.Index != ev.Index {
		t.Fatalf("del: %+v", del)
	}
	var seen []string
	deadline := time.After(5 * time.Second)
	for len(seen) < 2 || !strings.Contains(seen[len(seen)-1], "Deleted") {
		select {
		case l := <-lines:
			if strings.Contains(l, "mon0") {
				seen = append(seen, l)
			}
		case <-deadline:
			t.Fatalf("ip monitor printed %q", seen)
		}
	}
	if strings.Contains(seen[0], "Deleted") {
		t.Fatalf("ip monitor: %q", seen)
	}
	open := sockets(t)
	m.Close()
	if _, err := m.Next(context.Background(), time.Time{}); err == nil {
		t.Fatal("Next after Close")
	}
	// netlink's goroutines close the sockets once done is closed
	for i := 0; sockets(t) != open-2; i++ {
		if i == 100 {
			t.Fatalf("after Close: %d sockets, want %d", sockets(t), open-2)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// sockets counts this process's socket descriptors.
func sockets(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		if l, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && strings.HasPrefix(l, "socket:") {
			n++
		}
	}
	return n
}
