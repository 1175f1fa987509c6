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
}

// Keep leaves the thing in place when nsh ends.
func (i *Item) Keep() { i.kept = true }

// Forget marks the thing as already undone by the user.
func (i *Item) Forget() { i.done = true }

// Kept reports whether Keep was called.
func (i *Item) Kept() bool { return i.kept }

// Registry is an ordered list of undo actions.
type Registry struct {
	mu    sync.Mutex
	items []*Item
	tag   int
}

// SetTag sets the tag given to items added from now on.
func (r *Registry) SetTag(tag int) {
	r.mu.Lock()
	r.tag = tag
	r.mu.Unlock()
}

// Add records an undo action.
func (r *Registry) Add(what string, undo func() error) *Item {
	r.mu.Lock()
	defer r.mu.Unlock()
	it := &Item{What: what, Undo: undo, Tag: r.tag}
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

// Run undoes, newest first, every pending item for which match is true
// (nil: all), and returns the failures.
func (r *Registry) Run(match func(*Item) bool) []error {
	r.mu.Lock()
	var todo []*Item
	for i := len(r.items) - 1; i >= 0; i-- {
		it := r.items[i]
		if it.done || it.kept || (match != nil && !match(it)) {
			continue
		}
		it.done = true
		todo = append(todo, it)
	}
	r.mu.Unlock()
	var errs []error
	for _, it := range todo {
		if err := it.Undo(); err != nil {
			errs = append(errs, fmt.Errorf("cleanup of %s: %w", it.What, err))
		}
	}
	r.compact()
	return errs
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
