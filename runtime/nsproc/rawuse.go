package nsproc

// UsesRawSetup reports whether Start would run spec's set-up as raw ops in
// a child without a Go runtime (rawstart.go), rather than re-execute nsh
// or execute the program directly.
func (s Spec) UsesRawSetup() bool {
	if err := s.Validate(); err != nil {
		return false
	}
	s.Defaults()
	return len(s.SetTID) == 0 && s.needsReexec() && s.rawProgram(s.Stdin) != nil
}
