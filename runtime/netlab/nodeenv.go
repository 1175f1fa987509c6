package netlab

import "sort"

// SetNodeEnv adds to env the variables every lab node has: NSH_LAB and
// NSH_NODE, SERVER (the node's name unless env sets it), SERVER_IP (its
// first address, when it has one) and HOSTNAME (when it has one).
func SetNodeEnv(env map[string]string, lab, node, ip, hostname string) {
	env["NSH_LAB"] = lab
	env["NSH_NODE"] = node
	if _, ok := env["SERVER"]; !ok {
		env["SERVER"] = node
	}
	if ip != "" {
		env["SERVER_IP"] = ip
	}
	if hostname != "" {
		env["HOSTNAME"] = hostname
	}
}

// Environ is base followed by env's variables as NAME=value, sorted by
// name (later entries win in exec, so env overrides base).
func Environ(base []string, env map[string]string) []string {
	out := append([]string(nil), base...)
	for _, k := range sortedKeys(env) {
		out = append(out, k+"="+env[k])
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
