package netlab

import (
	"fmt"
	"strings"
)

// LabView is the state of a lab's links as the kernel reports them, laid
// out along the lab's description.
type LabView struct {
	Desc    LabDesc
	Bridges []BridgeView // one per Desc.Bridges
	Nodes   []NodeView   // one per Desc.Nodes
}

// BridgeView is a bridge of the hub: its addresses, state and ports.
type BridgeView struct {
	Name  string
	Addrs []string
	State string
	Ports []PortView
}

// PortView is a bridge port and its STP state ("forwarding", ...).
type PortView struct {
	Name, State string
}

// NodeView is a node and all its links, lo included.
type NodeView struct {
	Name  string
	Links []LinkInfo
}

// ViewMaxRows is how many nodes LabView.Text lists; the rest are counted.
const ViewMaxRows = 60

// View reads the links of the lab's hub and of every node from the
// kernel, laid out along Desc.
func (l *Lab) View() (*LabView, error) {
	d := l.Desc()
	outer, err := l.Outer().Links()
	if err != nil {
		return nil, err
	}
	v := &LabView{Desc: d}
	for _, br := range d.Bridges {
		bv := BridgeView{Name: br.Name}
		for _, lk := range outer {
			if lk.Name == br.Name {
				bv.Addrs, bv.State = lk.Addrs, lk.State
			}
			if lk.Master == br.Name {
				bv.Ports = append(bv.Ports, PortView{Name: lk.Name, State: lk.PortState})
			}
		}
		v.Bridges = append(v.Bridges, bv)
	}
	for _, nd := range d.Nodes {
		n := l.Node(nd.Name)
		if n == nil {
			return nil, fmt.Errorf("netlab: lab %s has no node %q", l.name, nd.Name)
		}
		ls, err := n.NS().Links()
		if err != nil {
			return nil, err
		}
		v.Nodes = append(v.Nodes, NodeView{Name: nd.Name, Links: ls})
	}
	return v, nil
}

// Text is the view as tables: a header line, the bridges with their ports,
// and every node's links (but lo) with the hub end and bridge they join;
// at most ViewMaxRows nodes. It has no final newline.
func (v *LabView) Text() string {
	d := v.Desc
	var b strings.Builder
	where := "outer namespace " + d.Name
	if d.Pinned {
		where += " (/run/netns/" + d.Name + ")"
	}
	fmt.Fprintf(&b, "lab %s: %d nodes, %d bridges; hub in %s\n", d.Name, len(d.Nodes), len(d.Bridges), where)
	if len(v.Bridges) > 0 {
		fmt.Fprintf(&b, "\n  %-14s %-18s %-8s %s\n", "BRIDGE", "ADDRESSES", "STATE", "PORTS")
	}
	for _, br := range v.Bridges {
		var ports []string
		for _, p := range br.Ports {
			ports = append(ports, p.Name+"("+p.State+")")
		}
		fmt.Fprintf(&b, "  %-14s %-18s %-8s %s\n", br.Name, dash(strings.Join(br.Addrs, " ")), br.State, dash(strings.Join(ports, " ")))
	}
	fmt.Fprintf(&b, "\n  %-14s %-10s %-8s %-18s %-14s %s\n", "NODE", "IFACE", "STATE", "ADDRESSES", "HUB END", "BRIDGE")
	hubEnd := map[string]LinkDesc{}
	for _, lk := range d.Links {
		hubEnd[lk.Node+"/"+lk.IfName] = lk
	}
	for i, n := range v.Nodes {
		if i >= ViewMaxRows {
			break
		}
		first := true
		for _, lk := range n.Links {
			if lk.Type == "loopback" {
				continue
			}
			he := hubEnd[n.Name+"/"+lk.Name]
			label := ""
			if first {
				label = n.Name
			}
			first = false
			end := dash(he.BrName)
			if he.Type != "" { // a link on the bridge itself: no hub end
				end = "(" + he.Type + ")"
			}
			fmt.Fprintf(&b, "  %-14s %-10s %-8s %-18s %-14s %s\n", label, lk.Name, lk.State, dash(strings.Join(lk.Addrs, " ")), end, dash(he.Bridge))
		}
		if first {
			fmt.Fprintf(&b, "  %-14s %-10s\n", n.Name, "(lo only)")
		}
	}
	if len(v.Nodes) > ViewMaxRows {
		fmt.Fprintf(&b, "  ... and %d more nodes\n", len(v.Nodes)-ViewMaxRows)
	}
	return strings.TrimRight(b.String(), "\n")
}

// dash is s, or "-" when s is empty.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
