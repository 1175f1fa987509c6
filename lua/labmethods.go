package lua

// The methods of labs and nodes: lab.go and lab_node.go have the core
// ones, labshape.go and labcapture.go shaping, throughput and capture.
var (
	labMethods  = append(append([]Func(nil), labBaseMethods...), labCaptureMethods...)
	nodeMethods = append(append(append([]Func(nil), nodeBaseMethods...), nodeNetMethods...), nodeCaptureMethods...)
)
