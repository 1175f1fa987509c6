package netlab

import (
	"fmt"
	"strings"
	"time"
)

// PingTarget is a node taking part in PingAll: its name, the address others
// ping and the namespace it pings from.
type PingTarget struct {
	Name, IP string
	NS       *NS
}

// PingAllResult counts the pings of PingAll and says which failed
// ("a -> b (IP): why"); Text is the matrix.
type PingAllResult struct {
	Sent, OK int
	Failed   []string
	Text     string
}

// PingAll pings every node's address from every other node, one echo each
// with timeout, in order, and draws the result as a matrix (rows ping
// columns; . ok, X lost) under a title naming lab.
func PingAll(lab string, nodes []PingTarget, timeout time.Duration) PingAllResult {
	var r PingAllResult
	var b strings.Builder
	fmt.Fprintf(&b, "pingall in lab %s (rows ping columns; . ok, X lost)\n  %-12s", lab, "")
	for j := range nodes {
		fmt.Fprintf(&b, " %d", j%10)
	}
	b.WriteString("\n")
	for i, a := range nodes {
		fmt.Fprintf(&b, "%d %-12s", i%10, trunc(a.Name, 12))
		for j, c := range nodes {
			if i == j {
				b.WriteString(" -")
				continue
			}
			r.Sent++
			if _, err := a.NS.Ping(c.IP, 1, timeout); err != nil {
				r.Failed = append(r.Failed, fmt.Sprintf("%s -> %s (%s): %v", a.Name, c.Name, c.IP, err))
				b.WriteString(" X")
			} else {
				r.OK++
				b.WriteString(" .")
			}
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "%d of %d pings answered", r.OK, r.Sent)
	r.Text = b.String()
	return r
}

func trunc(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
