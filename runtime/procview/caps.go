package procview

import "nsh/runtime/caps"

// CapNames lists the names of the capabilities set in mask ("sys_admin", ...).
func CapNames(mask uint64) []string { return caps.Names(mask) }

// AllCaps reports whether mask holds every capability the name table knows.
func AllCaps(mask uint64) bool { return caps.All(mask) }
