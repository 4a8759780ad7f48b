package blocklist

// A Batch holds rules read ahead of adding them to a BlockList, in their
// order, in little memory: 40 bytes a rule, in blocks that are never
// copied to grow. `nodenet block import` reads a whole file into one
// before it takes the rule file's lock. The zero Batch is empty.
type Batch struct {
	blocks [][]crule
	n      int
}

// batchBlock is how many rules a block of a Batch holds.
const batchBlock = 4096

// ParseRule reads one rule as ParseRuleFamily does and appends it.
func (bt *Batch) ParseRule(s, family string) error {
	c, err := parseRule(s, family)
	if err != nil {
		return err
	}
	if bt.n%batchBlock == 0 {
		bt.blocks = append(bt.blocks, make([]crule, 0, batchBlock))
	}
	last := &bt.blocks[len(bt.blocks)-1]
	*last = append(*last, c)
	bt.n++
	return nil
}

// Len returns the number of rules in the batch.
func (bt *Batch) Len() int { return bt.n }

// AddBatch adds the rules of a batch, in order, as Add adds each.
func (b *BlockList) AddBatch(bt *Batch) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, block := range bt.blocks {
		for _, c := range block {
			b.add(c)
		}
	}
}
