package lua

import "slices"

// The methods of labs and nodes: lab.go and lab_node.go have the core
// ones, labshape.go and labcapture.go shaping, throughput and capture
// (whose handles, c:, labcapture.go installs with installCaptureType).
// (functions, so that the lists are joined when a lab or node is first
// used, not before main).
func labMethods() []Func { return slices.Concat(labBaseMethods, labCaptureMethods) }

func nodeMethods() []Func {
	return slices.Concat(nodeBaseMethods, nodeNetMethods, nodeCaptureMethods, []Func{nodeCaptureStartMethod})
}
