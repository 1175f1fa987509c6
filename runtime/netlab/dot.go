package netlab

import (
	"fmt"
	"strings"
)

// Dot is the lab as a Graphviz graph (DOT text): the outer namespace as a
// cluster holding the bridges and the hub ends of the veth pairs, the nodes
// with their interfaces and addresses, and an edge per bridge port and per
// veth pair. Render it with dot -Tsvg.
func (d LabDesc) Dot() string {
	var b strings.Builder
	fmt.Fprintf(&b, "graph %q {\n  graph [rankdir=LR, label=%q];\n  node [shape=box, fontname=\"monospace\"];\n", d.Name, "nsh lab "+d.Name)
	fmt.Fprintf(&b, "  subgraph %q {\n    label=%q; style=dashed;\n", "cluster_"+d.Name, "namespace "+d.Name+" (outer)")
	for _, br := range d.Bridges {
		fmt.Fprintf(&b, "    %q [shape=ellipse, label=%q];\n", "br:"+br.Name, br.Name+"\n"+br.CIDR)
	}
	for _, lk := range d.Links {
		if lk.BrName != "" {
			fmt.Fprintf(&b, "    %q [shape=point, xlabel=%q];\n", "hub:"+lk.BrName, lk.BrName)
		}
	}
	b.WriteString("  }\n")
	for _, n := range d.Nodes {
		label := n.Name
		for _, lk := range d.Links {
			if lk.Node == n.Name {
				label += "\n" + lk.IfName + " " + lk.CIDR
			}
		}
		fmt.Fprintf(&b, "  %q [label=%q];\n", "node:"+n.Name, label)
	}
	for _, p := range d.Patches {
		fmt.Fprintf(&b, "  %q -- %q [label=%q];\n", "br:"+p.A, "br:"+p.B, "veth "+p.AName+" = "+p.BName)
	}
	for _, lk := range d.Links {
		if lk.BrName == "" { // a link on the bridge itself (macvlan, ipvlan)
			fmt.Fprintf(&b, "  %q -- %q [label=%q];\n", "br:"+lk.Bridge, "node:"+lk.Node, lk.Type+" "+lk.IfName)
			continue
		}
		fmt.Fprintf(&b, "  %q -- %q [label=%q];\n", "br:"+lk.Bridge, "hub:"+lk.BrName, "port")
		fmt.Fprintf(&b, "  %q -- %q [label=%q];\n", "hub:"+lk.BrName, "node:"+lk.Node, "veth "+lk.BrName+" = "+lk.IfName)
	}
	b.WriteString("}\n")
	return b.String()
}
