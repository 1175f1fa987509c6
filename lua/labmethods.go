package lua

// The methods of labs and nodes: lab.go and lab_node.go have the core
// ones, labshape.go and labcapture.go shaping, throughput and capture
// (whose handles, c:, labcapture.go installs with installCaptureType).
var (
	labMethods  = append(append([]Func(nil), labBaseMethods...), labCaptureMethods...)
	nodeMethods = append(append(append(append([]Func(nil), nodeBaseMethods...), nodeNetMethods...), nodeCaptureMethods...), nodeCaptureStartMethod)
)
