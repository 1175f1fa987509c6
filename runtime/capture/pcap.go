package capture

import (
	"encoding/binary"
	"io"
	"time"
)

// pcapWriter writes the classic pcap format that tcpdump -r, Wireshark and
// python's struct read: a 24-byte file header (magic a1b2c3d4 in the
// machine's little-endian order, version 2.4, snap length, link type),
// then per frame a 16-byte record header (seconds, microseconds, bytes
// kept, length on the wire) and the bytes kept.
type pcapWriter struct {
	w   io.Writer
	buf []byte
}

func newPcapWriter(w io.Writer, snaplen int, lt LinkType) (*pcapWriter, error) {
	h := make([]byte, 24)
	le := binary.LittleEndian
	le.PutUint32(h[0:], 0xa1b2c3d4)
	le.PutUint16(h[4:], 2)
	le.PutUint16(h[6:], 4)
	// thiszone and sigfigs (8:16) stay 0
	le.PutUint32(h[16:], uint32(snaplen))
	le.PutUint32(h[20:], uint32(lt))
	if _, err := w.Write(h); err != nil {
		return nil, err
	}
	return &pcapWriter{w: w}, nil
}

// write writes one frame, received at ts, of wire bytes on the wire.
func (p *pcapWriter) write(ts time.Time, data []byte, wire int) error {
	le := binary.LittleEndian
	p.buf = append(p.buf[:0], make([]byte, 16)...)
	le.PutUint32(p.buf[0:], uint32(ts.Unix()))
	le.PutUint32(p.buf[4:], uint32(ts.Nanosecond()/1000))
	le.PutUint32(p.buf[8:], uint32(len(data)))
	le.PutUint32(p.buf[12:], uint32(wire))
	p.buf = append(p.buf, data...)
	_, err := p.w.Write(p.buf)
	return err
}
