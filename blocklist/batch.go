package blocklist

import "slices"

// A Batch holds rules read ahead of adding them to a BlockList, in their
// order, in little memory: 40 bytes a rule, in blocks that are never
// copied to grow. `nodenet block import` reads a whole file into one
// before it takes the rule file's lock. The zero Batch is empty.
type Batch struct {
	blocks  [][]crule
	n       int
	scratch []byte
}

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
	if k := len(bt.blocks); k == 0 || len(bt.blocks[k-1]) == cap(bt.blocks[k-1]) {
		bt.blocks = append(bt.blocks, make([]crule, 0, batchBlock))
	}
	last := &bt.blocks[len(bt.blocks)-1]
	*last = append(*last, c)
	bt.n++
	return nil
}

// Append moves the rules of other after bt's, leaving other empty.
func (bt *Batch) Append(other *Batch) {
	bt.blocks = append(bt.blocks, other.blocks...)
	bt.n += other.n
	*other = Batch{}
}

// Len returns the number of rules in the batch.
func (bt *Batch) Len() int { return bt.n }

// AddBatch adds the rules of a batch, in order, as Add adds each.
func (b *BlockList) AddBatch(bt *Batch) {
	b.mu.Lock()
	defer b.mu.Unlock()
	// Room for all of them at once, rather than slices that double again
	// and again (the capacity changes no order: Node's table grows as it
	// would).
	var na, ns, nr int
	for _, block := range bt.blocks {
		for i := range block {
			switch block[i].kind {
			case AddressRule:
				na++
			case SubnetRule:
				ns++
			case RangeRule:
				nr++
			}
		}
	}
	b.unlist()
	if na > 0 {
		t := b.table()
		t.nodes = slices.Grow(t.nodes, 2*na)
	}
	b.vals = slices.Grow(b.vals, na)
	b.subnets = slices.Grow(b.subnets, ns)
	b.ranges = slices.Grow(b.ranges, nr)
	// A batch at least as large as the rules already indexed is indexed
	// with them, from scratch, when a check needs it: nothing is kept for
	// the index meanwhile (a rule file written by import is never checked
	// by the process that wrote it).
	if !b.full && bt.n >= b.naddr+len(b.subnets)+len(b.ranges) {
		b.full = true
		b.pending.reset()
	}
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
