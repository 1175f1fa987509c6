package nshtest

import "math/rand/v2"

// RandomStrings calls check with n strings, each shorter than maxLen bytes
// and drawn from alphabet, from a PCG seeded with seed1 and seed2 (the same
// strings on every run): for comparing a hand-written check with the
// regexp it replaced.
func RandomStrings(seed1, seed2 uint64, n, maxLen int, alphabet string, check func(s string)) {
	r := rand.New(rand.NewPCG(seed1, seed2))
	for range n {
		b := make([]byte, r.IntN(maxLen))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		check(string(b))
	}
}
