package nsproc

import (
	"bytes"
	"reflect"
	"testing"
)

// TestChildFrames: the messages of the child protocol survive their
// binary frames, an absent environment (inherit) stays apart from an
// empty one, and a cut frame is an error.
func TestChildFrames(t *testing.T) {
	uid, gid := 0, 65534
	for _, m := range []childMsg{
		{},
		{Argv: []string{"/bin/true", "x"}, Env: []string{}, Dir: "/", UID: &uid, GID: &gid, Pdeath: true, DropAmbient: true,
			Setup:    Setup{Hostname: "h", Domainname: "d", Steps: []Step{{Name: "mounts.container", Args: []byte{1, 2, 3}}}},
			Payload:  []byte("fn"),
			UnsetEnv: []string{"GOMAXPROCS"}, Created: Set(1<<3 | 1<<5)},
		{Env: []string{"A=1"}},
	} {
		var buf bytes.Buffer
		if err := writeFrame(&buf, &m); err != nil {
			t.Fatal(err)
		}
		full := buf.Bytes()
		var got childMsg
		if err := readFrame(bytes.NewReader(full), &got); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, m)
		}
		for n := 4; n < len(full); n++ {
			cut := append([]byte(nil), full[:n]...)
			cut[3] = byte(n - 4) // a consistent header for the shorter body
			var m2 childMsg
			if readFrame(bytes.NewReader(cut), &m2) == nil && n < len(full) {
				t.Errorf("a message cut to %d of %d bytes was read", n, len(full))
			}
		}
	}
	var buf bytes.Buffer
	writeFrame(&buf, &childResult{Values: []byte{9}, Error: "e"})
	vals, msg := decodeResult(buf.Bytes())
	if !bytes.Equal(vals, []byte{9}) || msg != "e" {
		t.Errorf("result: %v %q", vals, msg)
	}
}

// BenchmarkChildFrame is the control message of a container start, written
// by the parent and read by the child.
func BenchmarkChildFrame(b *testing.B) {
	uid := 0
	m := childMsg{Argv: []string{"/bin/true"}, UID: &uid, Pdeath: true, UnsetEnv: []string{"GOMAXPROCS"},
		Setup: Setup{Steps: []Step{{Name: "mounts.container", Args: make([]byte, 200)}}}}
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		writeFrame(&buf, &m)
		var got childMsg
		if err := readFrame(&buf, &got); err != nil {
			b.Fatal(err)
		}
	}
}
