package blocklist

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"slices"
)

// importEmptyMax is the size up to which a rule file is taken for one
// without rules before it is read: `["Address: IPv4 0.0.0.0"]` is 25
// bytes long.
var importEmptyMax int64 = 24

// importRuleMin is the fewest bytes a rule takes in a rule file:
// `  "Address: IPv4 0.0.0.0",` and a newline. An import of more rules than
// MaxFileSize holds at that size is left to the caller, which refuses it.
const importRuleMin = 26

// Import adds the rules of data, an import that is a rule file (a JSON
// array of Node's rule strings, as export prints them), to the rule file
// at path, as Update does with a change that calls AddBatch with the
// rules ParseFile reads from data (after Reset, when replace is set):
// under the lock, atomically, the same rules in the same order, byte for
// byte the same file, and the same errors about the rule file.
//
// It is the fast way to put many rules in an empty list (a new rule file,
// one without rules, or replace): the rule strings that are written as
// Node writes them are copied to the rule file rather than formatted
// again, and the file is written from two places at once while Node's
// table is built. Replacing reads the rules there were only to check the
// file, as Update does before it writes over it.
//
// It reports false, having done nothing, when it has no faster way: data
// is not plainly such a rule file (one that ParseFile reads without its
// general reader: no escapes, no zones; and not more rules than
// MaxFileSize takes at importRuleMin bytes a rule), or the rule file holds
// rules and replace is not set. The caller then goes the general way,
// which also says what is wrong with data.
func Import(path string, data []byte, replace bool) (bool, error) {
	real, err := realPath(path)
	if err != nil {
		return false, nil // Update says what is wrong
	}
	if !replace {
		if fi, err := os.Stat(real); err == nil && fi.Size() > importEmptyMax {
			return false, nil
		}
	}
	r := readImport(data)
	if r == nil || r.len() == 0 || r.len()*importRuleMin > MaxFileSize {
		return false, nil
	}
	unlock, err := lockFile(real + ".lock")
	if err != nil {
		return true, &FileError{Path: path + ".lock", Err: unwrapPath(err)}
	}
	defer unlock()
	removeStaleTemps(real)
	// What is there: checked (and, replacing, only checked) while the
	// rules are written.
	old := make(chan error, 1)
	var b *BlockList
	if replace {
		go func() { old <- checkRuleFile(real) }()
	} else {
		b, err = loadRules(real)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return true, namedError(path, err)
		case b.Size() > 0:
			// Rules came meanwhile: added to, the general way.
			var bt Batch
			if _, err := bt.ParseFile(data); err != nil {
				return true, err // not met: readImport read data
			}
			b.AddBatch(&bt)
			return true, writeAtomic(path, real, b)
		}
		old <- nil
	}
	checked := false
	var oldErr error
	checkedOld := func() error {
		if !checked {
			oldErr, checked = <-old, true
		}
		return oldErr
	}
	err = writeAtomicWith(path, real, func(f *os.File) error {
		err := r.write(f)
		if oerr := checkedOld(); oerr != nil {
			return namedError(path, oerr)
		}
		return err
	})
	if err != nil {
		// A rule file that cannot be read is the error, as with Update.
		if oerr := checkedOld(); oerr != nil {
			return true, namedError(path, oerr)
		}
	}
	return true, err
}

// namedError names path in a *FileError, as the user gave it.
func namedError(path string, err error) error {
	var fe *FileError
	if errors.As(err, &fe) {
		fe.Path = path
	}
	return err
}

// checkRuleFile reads the rule file at path, as loadRules does, only to
// check it; a missing file is fine. It reads it a chunk at a time, into
// one buffer, each chunk cut after a ",\n" (between two elements, as
// scanHalves cuts a file); a file with a problem, or with nowhere to cut
// it, is read again whole, which says what the problem is and where.
func checkRuleFile(path string) error {
	f, size, err := openRuleFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return &FileError{Path: path, Err: err}
	}
	defer f.Close()
	if checkChunks(f) {
		return nil
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return &FileError{Path: path, Err: unwrapPath(err)}
	}
	data, err := readAll(path, f, size)
	if err != nil {
		return err
	}
	var sp spans
	return scanSpans(data, &sp)
}

// importCheckChunk is how much of a rule file checkRuleFile reads at a
// time.
const importCheckChunk = 256 << 10

// checkChunks reads a rule file from its offset, a chunk at a time, and
// reports whether it is valid (and not over maxFileSize); false also when
// a chunk has nowhere to cut it.
func checkChunks(f *os.File) bool {
	buf := make([]byte, importCheckChunk)
	var sp spans
	have := 0 // what buf holds
	var total int64
	open := true
	for {
		n, err := io.ReadFull(f, buf[have:])
		have += n
		total += int64(n)
		eof := err == io.EOF || err == io.ErrUnexpectedEOF
		if err != nil && !eof || total > maxFileSize {
			return false
		}
		end := have
		if !eof {
			// A chunk that leaves most of itself to the next one is no
			// place to cut: the whole file is read then.
			j := bytes.LastIndex(buf[:have], []byte(",\n"))
			if j < have/2 {
				return false
			}
			end = j + 2
		}
		if scanElements(buf[:end], 0, end, open, eof, &sp) != nil {
			return false
		}
		if eof {
			return true
		}
		sp.v4, sp.v6 = sp.v4[:0], sp.v6[:0]
		have = copy(buf, buf[end:have])
		open = false
	}
}

// importChunk is how much of a rule file an import writes at a time.
const importChunk = 64 << 10

// importSep is what comes before each rule's text in a rule file; the
// first one's ',' is the array's '['.
const importSep = ",\n  \""

// write writes the rule file of the rules r (all there are): the address
// rules from here, once Node's table is built, while a goroutine writes
// the subnets and ranges after them, at the place the addresses leave.
func (r *importRules) write(f *os.File) error {
	tailSize := make(chan int64, 1)
	at := make(chan int64, 1) // where the tail goes, -1 for nowhere
	tailDone := make(chan error, 1)
	go func() {
		tailSize <- r.tailSize()
		off := <-at
		if off < 0 {
			tailDone <- nil
			return
		}
		tailDone <- r.writeTail(f, off)
	}()
	a := r.addrs
	size := a.size + <-tailSize + 3
	if size > maxFileSize {
		at <- -1
		<-tailDone
		return tooLarge("the rules would take", size)
	}
	at <- a.size
	order := listOrder(a.group, a.vals, a.order)
	// Many addresses are written from two places too: the second half
	// where the first half ends.
	var err error
	if half := len(order) / 2; half >= importHalfMin {
		var off int64
		for _, s := range order[:half] {
			off += a.textSize(a.refs[s], a.vals[s])
		}
		second := make(chan error, 1)
		go func() { second <- r.writeAddresses(f, order[half:], off) }()
		err = r.writeAddresses(f, order[:half], 0)
		if err2 := <-second; err == nil {
			err = err2
		}
	} else {
		err = r.writeAddresses(f, order, 0)
	}
	if err2 := <-tailDone; err == nil {
		err = err2
	}
	return err
}

// importHalfMin is the fewest address rules of which an import writes
// each half from its own goroutine.
const importHalfMin = 4096

// writeAddresses writes the address rules of slots, in their order, at
// offset off.
func (r *importRules) writeAddresses(f *os.File, slots []int32, off int64) error {
	a := r.addrs
	w := importWriter{f: f, off: off, buf: make([]byte, 0, importChunk+128), wb: writeback{f: f, from: off}}
	var scratch []byte
	for _, s := range slots {
		if ref := a.refs[s]; ref != 0 {
			w.putQuoted(ref.quoted(r.data))
		} else {
			scratch = newRule(AddressRule, a.vals[s], ip{}, 0).appendString(scratch[:0])
			w.put(scratch)
		}
	}
	return w.flush()
}

// importAddresses are the address rules of an import, one per address
// (either form), by slot in the order first added: each as added last,
// and where its text is (0 to format it).
type importAddresses struct {
	vals    []ip
	refs    []importRef
	group   []bulkEntry // the keys for Node's table, in the order added
	order   *bulkOrder  // Node's table, the keys of group added as they come
	size    int64       // what the rules take in the rule file
	set     *slotSet
	scratch []byte
}

// newImportAddresses returns room for about n address rules (and more
// as they come).
func newImportAddresses(n int) *importAddresses {
	// Room that is not used is never touched.
	return &importAddresses{vals: make([]ip, 0, n), refs: make([]importRef, 0, n),
		group: make([]bulkEntry, 0, 2*n), order: newBulkOrder(2 * n), set: newSlotSet(n)}
}

// textSize is what an address rule takes in the rule file.
func (a *importAddresses) textSize(ref importRef, v ip) int64 {
	if ref != 0 {
		return int64(len(importSep) + int(ref&127) + 1)
	}
	a.scratch = newRule(AddressRule, v, ip{}, 0).appendString(a.scratch[:0])
	return int64(len(importSep) + len(a.scratch) + 1)
}

// add sorts out the address rules of p, which follow those added, as
// addAddresses does for an empty list.
func (a *importAddresses) add(p *importPart) {
	for i := range p.addrs {
		e := &p.addrs[i]
		v := ip{hi: e.hi, lo: e.lo, v4: e.v4}
		if s := a.set.find(v, a.vals); s >= 0 {
			a.size += a.textSize(e.ref, v) - a.textSize(a.refs[s], a.vals[s])
			a.vals[s], a.refs[s] = v, e.ref
			continue
		}
		slot := int32(len(a.vals))
		a.vals = append(a.vals, v)
		a.refs = append(a.refs, e.ref)
		a.set.add(slot, a.vals)
		a.size += a.textSize(e.ref, v)
		first, second, two := ruleKeys(v)
		a.group = append(a.group, bulkKey(first, slot))
		if two {
			a.group = append(a.group, bulkKey(second, slot))
		}
	}
}

// tails calls f with the subnets, then the ranges, each newest first, as
// a rule file lists them after the addresses, until f returns false.
func (r *importRules) tails(f func(p *importPart, ref importRef) bool) {
	for _, kind := range []RuleKind{SubnetRule, RangeRule} {
		for _, p := range slices.Backward(r.parts) {
			refs := p.subnets
			if kind == RangeRule {
				refs = p.ranges
			}
			for _, ref := range slices.Backward(refs) {
				if !f(p, ref) {
					return
				}
			}
		}
	}
}

// formatted returns the text of a subnet or range to format, formatted
// in *scratch.
func (r *importRules) formatted(p *importPart, ref importRef, scratch *[]byte) []byte {
	*scratch = p.other[ref&^importFormat].appendString((*scratch)[:0])
	return *scratch
}

// tailSize is what the subnets and ranges take in the rule file.
func (r *importRules) tailSize() int64 {
	var n int64
	var scratch []byte
	r.tails(func(p *importPart, ref importRef) bool {
		if ref&importFormat != 0 {
			n += int64(len(r.formatted(p, ref, &scratch)))
		} else {
			n += int64(ref & 127)
		}
		n += int64(len(importSep) + 1)
		return true
	})
	return n
}

// writeTail writes the subnets and ranges, and the end of the array, at
// offset off.
func (r *importRules) writeTail(f *os.File, off int64) error {
	w := importWriter{f: f, off: off, buf: make([]byte, 0, importChunk+128), wb: writeback{f: f, from: off}}
	var scratch []byte
	r.tails(func(p *importPart, ref importRef) bool {
		if ref&importFormat != 0 {
			w.put(r.formatted(p, ref, &scratch))
		} else {
			w.putQuoted(ref.quoted(r.data))
		}
		return w.err == nil
	})
	w.buf = append(w.buf, "\n]\n"...)
	return w.flush()
}

// importWriter writes rules' texts to a rule file from an offset on, a
// chunk at a time.
type importWriter struct {
	f   *os.File
	off int64 // where buf goes
	buf []byte
	wb  writeback
	err error
}

// put adds a rule's text.
func (w *importWriter) put(text []byte) {
	w.buf = append(append(append(w.buf, importSep...), text...), '"')
	if len(w.buf) >= importChunk {
		w.flush() //nolint:errcheck // kept in w.err
	}
}

// putQuoted adds a rule's text with its quotes, as the import has it.
func (w *importWriter) putQuoted(quoted []byte) {
	w.buf = append(append(w.buf, importSep[:len(importSep)-1]...), quoted...)
	if len(w.buf) >= importChunk {
		w.flush() //nolint:errcheck // kept in w.err
	}
}

// flush writes what is buffered.
func (w *importWriter) flush() error {
	if w.err != nil || len(w.buf) == 0 {
		return w.err
	}
	if w.off == 0 {
		w.buf[0] = '[' // the first rule's
	}
	if _, w.err = w.f.WriteAt(w.buf, w.off); w.err == nil {
		w.off += int64(len(w.buf))
		w.wb.written(w.off)
	}
	w.buf = w.buf[:0]
	return w.err
}
