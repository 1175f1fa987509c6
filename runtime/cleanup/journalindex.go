package cleanup

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
)

// journalIndex is what one process has read of a journal: the records
// still live (a "+ID JSON" line with no "-ID" after it) with their JSON
// kept unparsed, the kept prefixes ("~PREFIX"), and where it stopped. A
// journal only grows while its owner lives (only the sweep of a dead
// process's journal truncates it), so each update reads just the lines
// appended since the last, by this process or by its children.
type journalIndex struct {
	off   int64             // the file offset up to which lines are read
	order []string          // ids in the order of their "+" lines (some undone since)
	live  map[string][]byte // id -> its record's JSON, while not undone
	kept  []string          // prefixes of kept ids
}

// update reads the complete lines appended to f since the last update. A
// last line without its newline (a write in progress, or torn) is read
// again next time, unless final (the journal of a process that ended:
// the line is read as it is, and a torn record does not parse).
func (x *journalIndex) update(f io.ReaderAt, final bool) error {
	if x.live == nil {
		x.live = map[string][]byte{}
	}
	buf := make([]byte, 32<<10)
	var tail []byte
	var rerr error
	for {
		n, err := f.ReadAt(buf, x.off+int64(len(tail)))
		if n > 0 {
			data := append(tail, buf[:n]...)
			last := bytes.LastIndexByte(data, '\n')
			if last < 0 {
				tail = data
			} else {
				for _, line := range bytes.Split(data[:last], []byte{'\n'}) {
					x.line(line)
				}
				x.off += int64(last + 1)
				tail = append([]byte(nil), data[last+1:]...)
			}
		}
		if err != nil || n == 0 {
			if err != io.EOF {
				rerr = err
			}
			break
		}
	}
	if final && len(tail) > 0 {
		x.line(tail)
		x.off += int64(len(tail))
	}
	if len(x.order) > 64 && len(x.order) > 2*len(x.live) {
		kept := x.order[:0]
		for _, id := range x.order {
			if _, ok := x.live[id]; ok {
				kept = append(kept, id)
			}
		}
		x.order = kept
	}
	return rerr
}

func (x *journalIndex) line(line []byte) {
	if len(line) < 2 {
		return
	}
	switch line[0] {
	case '+':
		sp := bytes.IndexByte(line, ' ')
		if sp < 0 {
			return
		}
		id := string(line[1:sp])
		x.order = append(x.order, id)
		x.live[id] = append([]byte(nil), line[sp+1:]...)
	case '-':
		delete(x.live, string(line[1:]))
	case '~':
		x.kept = append(x.kept, string(line[1:]))
	}
}

// entries are the live records with ids of prefix that no kept prefix
// covers, oldest first; a record whose JSON does not parse (a torn line)
// was not made.
func (x *journalIndex) entries(prefix string) []Entry {
	var out []Entry
	for _, id := range x.order {
		js, ok := x.live[id]
		if !ok || !strings.HasPrefix(id, prefix) || keptBy(id, x.kept) {
			continue
		}
		var r Record
		if json.Unmarshal(js, &r) != nil {
			continue
		}
		out = append(out, Entry{id, r})
	}
	return out
}
