package netlab

import (
	"fmt"
	"net"
	"os"
	"strings"
)

// HostsFile is the content of a lab's shared /etc/hosts: the localhost
// lines, then one line per address of every node, in node order.
func HostsFile(nodes []NodeDesc) string {
	var b strings.Builder
	b.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
	for _, n := range nodes {
		for _, a := range n.Addrs {
			if ip, _, err := net.ParseCIDR(a); err == nil {
				fmt.Fprintf(&b, "%s\t%s\n", ip, n.Name)
			}
		}
	}
	return b.String()
}

// WriteHosts writes HostsFile(nodes) to path in place: nodes have the file
// bind-mounted over their /etc/hosts, so its inode must stay.
func WriteHosts(path string, nodes []NodeDesc) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.WriteString(HostsFile(nodes))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
