package blocklist

import (
	"bytes"
	"runtime"
	"slices"
)

// A Batch holds rules read ahead of adding them to a BlockList, in their
// order, in little memory: 40 bytes a rule, in blocks that are never
// copied to grow. `nodenet block import` reads a whole file into one
// before it takes the rule file's lock. The zero Batch is empty.
type Batch struct {
	blocks  [][]crule
	n       int
	scratch []byte
	spare   []byte // memory given up by the caller (Recycle)
}

// withRoom returns s with room for n more elements, as slices.Grow does,
// but without writing to that room: memory the system has not handed over
// yet is not asked for before it is used.
func withRoom[E any](s []E, n int) []E {
	if cap(s)-len(s) >= n {
		return s
	}
	t := make([]E, len(s), len(s)+n)
	copy(t, s)
	return t
}

// concurrentBatchMin is the fewest rules for which AddBatch works on two
// cores.
const concurrentBatchMin = 4 * bulkMin

// batchBlock is how many rules a block of a Batch holds.
const batchBlock = 4096

// ParseRule reads one rule as ParseRuleFamily does and appends it.
func (bt *Batch) ParseRule(s []byte, family string) error {
	var c crule
	ok := false
	if family == "" && len(s) >= 16 {
		// A rule string as Node writes it, read as a rule file's are.
		bt.scratch = append(append(bt.scratch[:0], s...), '"')
		var next int
		c, next, ok = quickRule(bt.scratch, 0)
		ok = ok && next == len(bt.scratch)
	}
	if !ok {
		var err error
		if c, err = parseRule(s, family); err != nil {
			return err
		}
	}
	bt.rule(c)
	return nil
}

// Append moves the rules of other after bt's, leaving other empty.
func (bt *Batch) Append(other *Batch) {
	if bt.n == 0 {
		*bt, *other = *other, Batch{}
		return
	}
	bt.blocks = append(bt.blocks, other.blocks...)
	bt.n += other.n
	*other = Batch{}
}

// Recycle gives the batch memory that the caller is done with (the file
// the rules were read from, say): AddBatch may take it for the text of
// the rule file to write, rather than ask the system for more. The caller
// must not use buf again.
func (bt *Batch) Recycle(buf []byte) { bt.spare = buf[:0] }

// Len returns the number of rules in the batch.
func (bt *Batch) Len() int { return bt.n }

// AddBatch adds the rules of a batch, in order, as Add adds each.
func (b *BlockList) AddBatch(bt *Batch) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.dropFormatted()
	b.unlist()
	// A batch at least as large as the rules already indexed is indexed
	// with them, from scratch, when a check needs it: nothing is kept for
	// the index meanwhile (a rule file written by import is never checked
	// by the process that wrote it).
	if !b.full && bt.n >= b.naddr+len(b.subnets)+len(b.ranges) {
		b.full = true
		b.pending.reset()
	}
	if b.full && bt.n >= concurrentBatchMin && runtime.GOMAXPROCS(0) > 1 {
		// A large batch, the index to build from scratch: the subnets
		// and ranges are formatted on another core as a rule file lists
		// them (what writing the rules back needs next), and the subnets
		// added there, while this one adds the addresses and ranges.
		// Room for every rule of the batch in each list: the memory is
		// touched only as rules are added.
		b.vals = withRoom(b.vals, bt.n)
		b.subnets = withRoom(b.subnets, bt.n)
		b.ranges = withRoom(b.ranges, bt.n)
		pf := &preformat{done: make(chan struct{})}
		// The rules there were: what is appended to them after is not
		// theirs, and they do not change.
		oldSubnets, oldRanges := b.subnets, b.ranges
		spare := bt.spare
		bt.spare = nil
		subnetsAdded := make(chan []crule, 1)
		go func() {
			pf.formatTail(bt, oldSubnets, oldRanges, spare)
			close(pf.done)
			subnets := oldSubnets
			for _, block := range bt.blocks {
				for i := range block {
					if block[i].kind == SubnetRule {
						subnets = append(subnets, block[i])
					}
				}
			}
			subnetsAdded <- subnets
		}()
		b.addAddresses(bt, bt.n/2, bt.n)
		for _, block := range bt.blocks {
			for i := range block {
				if block[i].kind == RangeRule {
					b.ranges = append(b.ranges, block[i])
				}
			}
		}
		b.subnets = <-subnetsAdded
		b.pre = pf
		b.idx.Store(nil)
		return
	}
	// Room for all of them at once, rather than slices that double again
	// and again (the capacity changes no order: Node's table grows as it
	// would).
	var na, ns, nr int
	for _, block := range bt.blocks {
		a, s, r := countKinds(block)
		na, ns, nr = na+a, ns+s, nr+r
	}
	b.vals = slices.Grow(b.vals, na)
	if na >= bulkMin {
		b.addAddresses(bt, na, na)
		b.subnets = slices.Grow(b.subnets, ns)
		b.ranges = slices.Grow(b.ranges, nr)
		if !b.full {
			b.pending.v4 = slices.Grow(b.pending.v4, bt.n)
			b.pending.v6 = slices.Grow(b.pending.v6, bt.n)
		}
		for _, block := range bt.blocks {
			for _, c := range block {
				switch c.kind {
				case RangeRule:
					b.ranges = append(b.ranges, c)
				case SubnetRule:
					b.subnets = append(b.subnets, c)
				}
				if !b.full {
					b.pending.add(c)
				}
			}
		}
		b.idx.Store(nil)
		return
	}
	if na > 0 {
		t := b.table()
		t.nodes = slices.Grow(t.nodes, 2*na)
	}
	b.subnets = slices.Grow(b.subnets, ns)
	b.ranges = slices.Grow(b.ranges, nr)
	if !b.full {
		b.pending.v4 = slices.Grow(b.pending.v4, bt.n)
		b.pending.v6 = slices.Grow(b.pending.v6, bt.n)
	}
	for _, block := range bt.blocks {
		for _, c := range block {
			b.addRule(c)
			if !b.full {
				b.pending.add(c)
			}
		}
	}
	b.idx.Store(nil)
}

// fileBatch receives the rules of a rule file.
type fileBatch struct {
	Batch
	longest int
}

func (fb *fileBatch) rule(c crule, n int) {
	fb.longest = max(fb.longest, n)
	fb.Batch.rule(c)
}

// rule appends a rule.
func (bt *Batch) rule(c crule) {
	if k := len(bt.blocks); k == 0 || len(bt.blocks[k-1]) == cap(bt.blocks[k-1]) {
		bt.blocks = append(bt.blocks, make([]crule, 0, batchBlock))
	}
	last := &bt.blocks[len(bt.blocks)-1]
	*last = append(*last, c)
	bt.n++
}

// ParseFile reads the rules of a rule file (see LoadFile), as Parse reads
// them, and appends them in the file's order; a large file is read in two
// halves at once. It returns the length of the longest JSON string in the
// file, quotes included. On an error, a *FileError, bt is left as it was.
func (bt *Batch) ParseFile(data []byte) (longest int, err error) {
	var first fileBatch
	if len(data) >= parallelScanMin && runtime.GOMAXPROCS(0) > 1 {
		mid := len(data) / 2
		if j := bytes.Index(data[mid:], []byte(",\n")); j >= 0 {
			split := mid + j + 2
			var second fileBatch
			done := make(chan error, 1)
			go func() { done <- scanElements(data, split, len(data), false, true, &second) }()
			err := scanElements(data, 0, split, true, false, &first)
			if err2 := <-done; err == nil && err2 == nil {
				first.Append(&second.Batch)
				bt.Append(&first.Batch)
				return max(first.longest, second.longest), nil
			}
			// A problem in either half: read again from the start, which
			// reports the first problem in the file.
			first = fileBatch{}
		}
	}
	if err := atPosition(data, scanElements(data, 0, len(data), true, true, &first)); err != nil {
		return 0, err
	}
	bt.Append(&first.Batch)
	return first.longest, nil
}
