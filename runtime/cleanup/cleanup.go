// Package cleanup records what nsh creates outside its own disposable
// namespaces (children, pinned namespace files, mounts, links, cgroups) and
// undoes it, newest first, when a script or session ends, however it ends.
// It does not know how to undo anything itself: each entry brings its undo.
package cleanup

import (
	"fmt"
	"sync"
)

// Item is one thing to undo.
type Item struct {
	What string       // "child 1234", "pin /run/netns/lab1", ...
	Undo func() error // called once, on the interpreter's thread
	Tag  int          // the chunk (REPL input) that made it

	kept, done bool
	r          *Registry
	ids        []string
	recs       []Record
}

// Records are what the journal holds of the thing (nil once undone, kept
// or forgotten).
func (i *Item) Records() []Record { return i.recs }

// Keep leaves the thing in place when nsh ends (and drops it from the
// journal: a kept thing is not a leftover).
func (i *Item) Keep() {
	i.kept = true
	i.r.opened().drop(i.ids)
	i.ids, i.recs = nil, nil
}

// Run undoes the thing now, because the user asked (lab:close(),
// hub:stop()), and only then drops its records from the journal, as
// Registry.Run does: a SIGKILL in the middle of the undo, or an undo that
// fails, leaves them for the next nsh's sweep. (Forget before the undo
// would leave whatever the undo had not yet removed named nowhere.)
func (i *Item) Run() error {
	i.r.mu.Lock()
	if i.done || i.kept {
		i.r.mu.Unlock()
		return nil
	}
	i.done = true // Note adds nothing more, and the registry will not run it again
	i.r.mu.Unlock()
	return i.undo()
}

// undo runs the Undo of an item marked done, and drops its records from
// the journal once it has succeeded.
func (i *Item) undo() error {
	if err := i.Undo(); err != nil {
		return err
	}
	i.r.opened().drop(i.ids)
	i.ids, i.recs = nil, nil
	return nil
}

// Forget marks the thing as already undone by the user (a child reaped,
// a descriptor closed): what it names is gone from the kernel already.
func (i *Item) Forget() {
	i.done = true
	i.r.opened().drop(i.ids)
	i.ids, i.recs = nil, nil
}

// Note writes down one more part of the thing (a lab's next pin or link)
// in the journal, before the part's maker returns.
func (i *Item) Note(recs ...Record) {
	if i.kept || i.done {
		return
	}
	if len(recs) > 0 {
		i.ids = append(i.ids, i.r.journal().add(recs)...)
		i.recs = append(i.recs, recs...)
	}
}

// Kept reports whether Keep was called.
func (i *Item) Kept() bool { return i.kept }

// Registry is an ordered list of undo actions.
type Registry struct {
	mu    sync.Mutex
	items []*Item
	tag   int
	// Journal, when set, is where every item's records are written the
	// moment they are added (see Journal).
	Journal *Journal
	// Opener, when set and Journal is not, opens the journal when the
	// first record comes (or OpenJournal asks): a session that makes
	// nothing outside its own namespaces never writes one. It is called
	// once; nil means no journal.
	Opener func() *Journal
	jmu    sync.Mutex // guards Journal and Opener
}

// journal is the journal, opened now if it is due.
func (r *Registry) journal() *Journal {
	r.jmu.Lock()
	defer r.jmu.Unlock()
	if r.Journal == nil && r.Opener != nil {
		open := r.Opener
		r.Opener = nil
		r.Journal = open()
	}
	return r.Journal
}

// opened is the journal if it was opened (or set), nil otherwise.
func (r *Registry) opened() *Journal {
	r.jmu.Lock()
	defer r.jmu.Unlock()
	return r.Journal
}

// OpenJournal opens the journal now if Opener is due to (before a
// re-executed child starts, which appends to it: NSH_JOURNAL), and
// returns it.
func (r *Registry) OpenJournal() *Journal { return r.journal() }

// OpenedJournal is the journal if one was opened or set, without opening
// it (the end of a session that made nothing has no journal to close).
func (r *Registry) OpenedJournal() *Journal { return r.opened() }

// SetTag sets the tag given to items added from now on.
func (r *Registry) SetTag(tag int) {
	r.mu.Lock()
	r.tag = tag
	r.mu.Unlock()
}

// Add records an undo action, and writes recs (how another nsh undoes the
// thing if this one dies first) in the journal.
func (r *Registry) Add(what string, undo func() error, recs ...Record) *Item {
	r.mu.Lock()
	defer r.mu.Unlock()
	it := &Item{What: what, Undo: undo, Tag: r.tag, r: r}
	if len(recs) > 0 {
		it.ids = r.journal().add(recs)
	}
	if it.ids != nil {
		it.recs = recs
	}
	r.items = append(r.items, it)
	return it
}

// Pending lists the items not yet undone nor kept, oldest first.
func (r *Registry) Pending() []*Item {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*Item
	for _, it := range r.items {
		if !it.done && !it.kept {
			out = append(out, it)
		}
	}
	return out
}

// Adopt makes the records es, which another process (a child nsh) wrote
// into the journal and left when it ended, items of this registry, each
// undone by undo(record) in the registry's order (newest first, so before
// what this process made before the child). Their journal lines are the
// child's; an undone one is dropped from the journal as any other.
func (r *Registry) Adopt(es []Entry, undo func(Record) error) []*Item {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*Item
	for _, e := range es {
		rec := e.Rec
		it := &Item{What: rec.String(), Undo: func() error { return undo(rec) }, Tag: r.tag,
			r: r, ids: []string{e.ID}, recs: []Record{rec}}
		r.items = append(r.items, it)
		out = append(out, it)
	}
	return out
}

// HandOver gives up, without undoing them, the pending items for which
// match is true and whose records are in the journal: what a child nsh
// made that outlives it is its parent's (the journal is shared, and the
// outermost nsh undoes what it still records when it ends). It returns
// how many items were handed over.
func (r *Registry) HandOver(match func(*Item) bool) int {
	r.mu.Lock()
	n := 0
	for _, it := range r.items {
		if it.done || it.kept || len(it.ids) == 0 || !match(it) {
			continue
		}
		it.done = true
		it.ids = nil
		n++
	}
	r.mu.Unlock()
	r.compact()
	return n
}

// Run undoes, newest first, every pending item for which match is true
// (nil: all), and returns the failures. An item added while Run runs (what
// a child left, adopted when it is stopped) is newer than the rest and is
// undone next.
func (r *Registry) Run(match func(*Item) bool) []error {
	var errs []error
	for {
		it := r.nextPending(match)
		if it == nil {
			break
		}
		if err := it.undo(); err != nil {
			// left in the journal: the next nsh tries again
			errs = append(errs, fmt.Errorf("cleanup of %s: %w", it.What, err))
		}
	}
	r.compact()
	return errs
}

// nextPending marks the newest pending item that match accepts as done
// and returns it (nil: none left).
func (r *Registry) nextPending(match func(*Item) bool) *Item {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.items) - 1; i >= 0; i-- {
		it := r.items[i]
		if it.done || it.kept || (match != nil && !match(it)) {
			continue
		}
		it.done = true
		return it
	}
	return nil
}

func (r *Registry) compact() {
	r.mu.Lock()
	defer r.mu.Unlock()
	kept := r.items[:0]
	for _, it := range r.items {
		if !it.done {
			kept = append(kept, it)
		}
	}
	r.items = kept
}

// Kept lists the items kept (left in place when nsh ends).
func (r *Registry) Kept() []*Item {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*Item
	for _, it := range r.items {
		if it.kept && !it.done {
			out = append(out, it)
		}
	}
	return out
}
