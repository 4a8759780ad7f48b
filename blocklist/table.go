package blocklist

import (
	"cmp"
	"math/bits"
	"slices"
)

// Node v26 keeps address rules in a C++ std::unordered_map and lists them
// by walking it, so the order of "Address:" rules in blockList.rules is the
// order of that hash table: it depends on the addresses' hashes, on the
// table's size and on the order of insertion, and it is neither the order
// of insertion nor any sorted order. addrTable reproduces that table node
// for node, so that Rules lists addresses exactly as Node does:
//
//   - the key hash is Node's SocketAddress::IpHash (read from the v26
//     binary): a 64-bit multiply-and-fold of the 4 or 16 address bytes;
//   - each rule has two keys when it has an IPv4 form (1.2.3.4 and
//     ::ffff:1.2.3.4, the first one added first), both mapping to the rule,
//     and the listing shows each rule once, where its first key is met;
//   - the table is libstdc++'s: a singly linked list of nodes, each bucket
//     a contiguous run in it; a key going to an empty bucket is put at the
//     front of the list, otherwise at the front of its bucket's run; the
//     bucket count starts at 13 and grows at a load factor of 1 through
//     libstdc++'s primes (bucketCounts, measured from libstdc++'s
//     _Prime_rehash_policy, which Node's Linux build uses), and a rehash
//     walks the old list, putting each node at the front of the list or of
//     its new bucket's run;
//   - removing a rule unlinks its keys; clearing keeps the bucket count.

// bucketCounts are the bucket counts the table grows through, one after
// another, as keys are added one at a time: libstdc++'s rehash policy asks
// for the first prime in its table at least twice the current count.
var bucketCounts = [...]uint64{
	13, 29, 59, 127, 257, 541, 1109, 2357, 5087, 10273, 20753, 42043,
	85229, 172933, 351061, 712697, 1447153, 2938679, 5967347, 12117689,
	24607243, 49969847, 101473717, 206062531, 418451333, 849749479,
	1725587117, 3504151727,
}

func nextBucketCount(n uint64) uint64 {
	for _, c := range bucketCounts {
		if c > n {
			return c
		}
	}
	return bucketCounts[len(bucketCounts)-1]
}

// keyHash is Node v26's SocketAddress::IpHash of an address key.
func keyHash(k ip) uint64 {
	const (
		secret0 = 0x8bb84b93962eacc9
		secret1 = 0x422765567d8fbfc6
		secret2 = 0xaaaaaaaaaaaaaaaa
	)
	// The C++ code reads the address bytes as little-endian words.
	var a, b, seed uint64
	if k.v4 {
		x := uint64(bits.ReverseBytes32(k.v4value()))
		a, b, seed = (secret1+12)^x, x^secret0, secret0+4
	} else {
		a, b, seed = secret1^bits.ReverseBytes64(k.lo), bits.ReverseBytes64(k.hi)^secret0, secret0+16
	}
	phi, plo := bits.Mul64(a, b)
	qhi, qlo := bits.Mul64(seed^phi, secret2^plo)
	return qlo ^ qhi
}

// ruleKeys returns the keys of an address rule: the address as added, and
// its other form when it has an IPv4 one.
func ruleKeys(v ip) (first, second ip, two bool) {
	if v.v4 || v.mapped() {
		second = v
		second.v4 = !v.v4
		return v, second, true
	}
	return v, ip{}, false
}

const (
	noNode      = -1 // an empty bucket, or the end of the list
	beforeBegin = -2 // the list's head pointer, standing before its first node
)

type tnode struct {
	next   int32  // the next node, or noNode
	slot   int32  // the rule this key belongs to
	hi, lo uint64 // the key; its hash is computed again when needed
	v4     bool
	// last is set on the last node of its bucket's run: a lookup stops
	// there without reading the next node (another cache line, often) to
	// find its bucket.
	last bool
}

func (n *tnode) is(k ip) bool { return n.hi == k.hi && n.lo == k.lo && n.v4 == k.v4 }

// bucketOf returns node p's bucket.
func (t *addrTable) bucketOf(p int32) int {
	n := &t.nodes[p]
	return t.bucket(keyHash(ip{hi: n.hi, lo: n.lo, v4: n.v4}))
}

// addrTable is the hash table; see above. Nodes are never reused: an
// erased node is unlinked and left.
type addrTable struct {
	nodes      []tnode
	buckets    []int32 // per bucket, the node before its run (beforeBegin for the first run), or noNode
	head       int32   // the first node, or noNode
	count      int     // keys in the table
	nextResize uint64  // the count at which the table grows
	mod        modulus // len(buckets)
}

// modulus computes h % d without a division, which takes tens of cycles
// and comes once or twice per key: with m = ceil(2^128 / d), h % d is the
// high 128 bits of (m*h mod 2^128) * d, for any 64-bit h and any d below
// 2^32 (Lemire, Kaser and Kurz, "Faster remainder by direct computation",
// 2019). Bucket counts are primes below 2^32.
type modulus struct {
	d        uint64
	mhi, mlo uint64
}

func newModulus(d uint64) modulus {
	if d <= 1 {
		return modulus{d: d}
	}
	// ceil(2^128/d) = floor((2^128-1)/d) + 1, for any d > 1.
	hi, r := bits.Div64(0, ^uint64(0), d)
	lo, _ := bits.Div64(r, ^uint64(0), d)
	lo, carry := bits.Add64(lo, 1, 0)
	return modulus{d: d, mhi: hi + carry, mlo: lo}
}

// of returns h % d.
func (m *modulus) of(h uint64) uint64 {
	if m.d <= 1 {
		return 0
	}
	// low = m*h mod 2^128
	lhi, llo := bits.Mul64(m.mlo, h)
	lhi += m.mhi * h
	// (low * d) >> 128, d < 2^32
	xhi, xlo := bits.Mul64(lhi, m.d)
	y, _ := bits.Mul64(llo, m.d)
	_, carry := bits.Add64(xlo, y, 0)
	return xhi + carry
}

// setBuckets gives the table size empty buckets.
func (t *addrTable) setBuckets(size uint64) {
	t.buckets = make([]int32, size)
	for i := range t.buckets {
		t.buckets[i] = noNode
	}
	t.mod = newModulus(size)
}

func newAddrTable() *addrTable {
	return &addrTable{buckets: []int32{noNode}, head: noNode, mod: newModulus(1)}
}

func (t *addrTable) bucket(h uint64) int { return int(t.mod.of(h)) }

func (t *addrTable) nextOf(ref int32) int32 {
	if ref == beforeBegin {
		return t.head
	}
	return t.nodes[ref].next
}

func (t *addrTable) setNext(ref, n int32) {
	if ref == beforeBegin {
		t.head = n
	} else {
		t.nodes[ref].next = n
	}
}

// findBefore returns the node before the key's node, or noNode when the key
// is not in the table.
func (t *addrTable) findBefore(k ip, h uint64) int32 {
	if t.count == 0 {
		return noNode
	}
	b := t.bucket(h)
	prev := t.buckets[b]
	if prev == noNode {
		return noNode
	}
	for {
		p := t.nextOf(prev)
		n := &t.nodes[p]
		if n.is(k) {
			return prev
		}
		if n.last {
			return noNode
		}
		prev = p
	}
}

// set maps key k to slot, adding the key if it is new (operator[]).
func (t *addrTable) set(k ip, slot int32) {
	h := keyHash(k)
	if prev := t.findBefore(k, h); prev != noNode {
		t.nodes[t.nextOf(prev)].slot = slot
		return
	}
	t.insert(k, h, slot)
}

// insert adds key k, of hash h, which is not in the table, mapping it to
// slot.
func (t *addrTable) insert(k ip, h uint64, slot int32) {
	if uint64(t.count)+1 > t.nextResize {
		minBuckets := uint64(t.count) + 1
		if t.nextResize == 0 {
			minBuckets = max(minBuckets, 11)
		}
		if minBuckets >= uint64(len(t.buckets)) {
			t.rehash(nextBucketCount(uint64(len(t.buckets))))
		} else {
			t.nextResize = uint64(len(t.buckets))
		}
	}
	n := int32(len(t.nodes))
	t.nodes = append(t.nodes, tnode{slot: slot, hi: k.hi, lo: k.lo, v4: k.v4})
	t.linkAtBucketFront(t.bucket(h), n)
	t.count++
}

func (t *addrTable) linkAtBucketFront(b int, n int32) {
	if before := t.buckets[b]; before != noNode {
		t.nodes[n].next = t.nextOf(before)
		t.setNext(before, n)
		return
	}
	t.nodes[n].next = t.head
	t.nodes[n].last = true
	t.head = n
	if nx := t.nodes[n].next; nx != noNode {
		t.buckets[t.bucketOf(nx)] = n
	}
	t.buckets[b] = beforeBegin
}

func (t *addrTable) rehash(size uint64) {
	t.setBuckets(size)
	t.nextResize = size
	p := t.head
	t.head = noNode
	headBucket := 0
	// Each node's bucket is found while the node before is linked: the
	// processor then waits for both nodes' cache lines at once.
	b := 0
	if p != noNode {
		b = t.bucketOf(p)
	}
	for p != noNode {
		next := t.nodes[p].next
		nb := 0
		if next != noNode {
			nb = t.bucketOf(next)
		}
		if t.buckets[b] == noNode {
			t.nodes[p].next = t.head
			t.nodes[p].last = true
			t.head = p
			t.buckets[b] = beforeBegin
			if t.nodes[p].next != noNode {
				t.buckets[headBucket] = p
			}
			headBucket = b
		} else {
			before := t.buckets[b]
			t.nodes[p].next = t.nextOf(before)
			t.nodes[p].last = false
			t.setNext(before, p)
		}
		p, b = next, nb
	}
}

// erase removes key k and reports whether it was there.
func (t *addrTable) erase(k ip) bool {
	h := keyHash(k)
	prev := t.findBefore(k, h)
	if prev == noNode {
		return false
	}
	b := t.bucket(h)
	n := t.nextOf(prev)
	next := t.nodes[n].next
	if prev == t.buckets[b] {
		// n starts its run: the bucket empties unless the next node is in
		// it, and the run after n now starts after prev.
		if next == noNode || t.bucketOf(next) != b {
			if next != noNode {
				t.buckets[t.bucketOf(next)] = t.buckets[b]
			}
			t.buckets[b] = noNode
		}
	} else {
		// prev is in n's run: it ends it if n did.
		t.nodes[prev].last = t.nodes[n].last
		if next != noNode {
			if nb := t.bucketOf(next); nb != b {
				t.buckets[nb] = prev
			}
		}
	}
	t.setNext(prev, next)
	t.count--
	return true
}

// clear empties the table and keeps its bucket count, as std::unordered_map
// does.
func (t *addrTable) clear() {
	t.nodes = t.nodes[:0]
	for i := range t.buckets {
		t.buckets[i] = noNode
	}
	t.head = noNode
	t.count = 0
}

// order appends the slots in listing order: each slot where its first key
// is met.
func (t *addrTable) order(dst []int32, slots int) []int32 {
	seen := make([]bool, slots)
	for p := t.head; p != noNode; p = t.nodes[p].next {
		if s := t.nodes[p].slot; !seen[s] {
			seen[s] = true
			dst = append(dst, s)
		}
	}
	return dst
}

// bucketCountFor is the bucket count of a table into which n keys were
// added one at a time.
func bucketCountFor(n int) uint64 {
	if n == 0 {
		return 1
	}
	c := uint64(13)
	for c < uint64(n) {
		c = nextBucketCount(c)
	}
	return c
}

// rebuildTable makes a table that lists the rules vals[order[0]],
// vals[order[1]], ... in that order: a table Node could hold, given only a
// listing of it (a rule file records blockList.rules, not the table, and
// different tables list alike). It tries, in turn:
//
//   - the history "every rule added since the last rehash, oldest first"
//     (the listing reversed), when that lists them in order;
//   - laying the bucket runs out directly so that each rule's first key
//     comes in listing order (placeTable);
//   - failing both (a listing Node did not write, or wrote with another
//     hash table), adding the rules oldest first into a new table, as for
//     subnets and ranges, which changes the order.
//
// Rules added to the rebuilt table then go where Node would put them in
// that table. That is usually where a long-lived Node BlockList would put
// them too, but not always: the listing does not show where every key of
// a bucket sits, and a rehash, as the table grows, orders the list by
// those places.
func rebuildTable(vals []ip, order []int32) *addrTable {
	if len(order) == 0 {
		return newAddrTable()
	}
	t, ok := replayTable(vals, order)
	if ok {
		return t
	}
	if t := placeTable(vals, order, t); t != nil {
		return t
	}
	t = newAddrTable()
	for i := len(order) - 1; i >= 0; i-- {
		s := order[i]
		first, second, two := ruleKeys(vals[s])
		t.set(first, s)
		if two {
			t.set(second, s)
		}
	}
	return t
}

// placeTable builds the table directly: it lays out the bucket runs so
// that, walking the list, each rule's first key comes in listing order. It
// returns nil when it cannot. It works in flat arrays, a few bytes per key:
// it runs on every change to a large rule file. It reuses the memory of
// scratch, a table of the same size that replayTable gave up on, when not
// nil.
func placeTable(vals []ip, order []int32, scratch *addrTable) *addrTable {
	// The keys, rule by rule in listing order: the second form first, as
	// Node adds it right after the first: when both start new runs, the
	// second one ends up in front. rankStart[r] is where rule r's keys
	// start.
	type key struct {
		bucket uint32
		rank   int32 // the rule's place in the listing
	}
	n := len(order)
	nkeys := 0
	for _, s := range order {
		if _, _, two := ruleKeys(vals[s]); two {
			nkeys += 2
		} else {
			nkeys++
		}
	}
	size := bucketCountFor(nkeys)
	mod := newModulus(size)
	keys := make([]key, 0, nkeys)
	rankStart := make([]int32, n+1)
	for rank, s := range order {
		rankStart[rank] = int32(len(keys))
		first, second, two := ruleKeys(vals[s])
		if two {
			keys = append(keys, key{uint32(mod.of(keyHash(second))), int32(rank)})
		}
		keys = append(keys, key{uint32(mod.of(keyHash(first))), int32(rank)})
	}
	rankStart[n] = int32(len(keys))
	// keyOf returns key i's address.
	keyOf := func(i int32) ip {
		r := keys[i].rank
		first, second, two := ruleKeys(vals[order[r]])
		if two && i == rankStart[r] {
			return second
		}
		return first
	}
	// The keys of each bucket, in key order: members[bucketStart[b+1]:
	// bucketStart[b+2]]. (Counted into bucketStart[b+1], summed there up to
	// the end of each bucket, then filled from the last key down, which
	// moves each bucket's end down to its start.)
	bucketStart := make([]int32, size+2)
	for i := range keys {
		bucketStart[keys[i].bucket+1]++
	}
	for b := range size {
		bucketStart[b+1] += bucketStart[b]
	}
	bucketStart[size+1] = int32(len(keys))
	members := make([]int32, len(keys))
	for i := len(keys) - 1; i >= 0; i-- {
		b := keys[i].bucket
		bucketStart[b+1]--
		members[bucketStart[b+1]] = int32(i)
	}
	bucketKeys := func(b uint32) []int32 { return members[bucketStart[b+1]:bucketStart[b+2]] }

	// arrange lays out bucket b's run, at the end of runKeys, to start with
	// key first, of the rule ranked rank: then the rule's other key, then
	// the keys of the rules listed right after it, which must be the only
	// rules of the run not yet met, then the keys of rules already met. It
	// returns how many rules the run lists, 0 when it cannot.
	listed := make([]bool, n)
	runKeys := make([]int32, 0, len(keys))
	var newRanks []int32
	arrange := func(b uint32, first int32, rank int32) int32 {
		ms := bucketKeys(b)
		newRanks = newRanks[:0]
		for _, i := range ms {
			if r := keys[i].rank; r != rank && !listed[r] {
				newRanks = append(newRanks, r)
			}
		}
		slices.Sort(newRanks)
		newRanks = slices.Compact(newRanks)
		last := rank
		for j, r := range newRanks {
			if r != rank+1+int32(j) {
				return 0
			}
			last = r
		}
		runKeys = append(runKeys, first)
		for r := rank; r <= last; r++ {
			for i := rankStart[r]; i < rankStart[r+1]; i++ {
				if i != first && keys[i].bucket == b {
					runKeys = append(runKeys, i)
				}
			}
		}
		for _, i := range ms {
			if keys[i].rank < rank {
				runKeys = append(runKeys, i)
			}
		}
		return last - rank + 1
	}

	runStart := []int32{0} // runs in list order: runKeys[runStart[j]:runStart[j+1]]
	placed := make([]bool, size)
	firstRun := make([]int32, n) // by rank, the run where the rule is met
	for rank := int32(0); rank < int32(n); {
		var k int32
		for i := rankStart[rank]; i < rankStart[rank+1]; i++ {
			b := keys[i].bucket
			if placed[b] {
				continue
			}
			if k = arrange(b, i, rank); k > 0 {
				placed[b] = true
				break
			}
		}
		if k == 0 {
			return nil
		}
		for r := rank; r < rank+k; r++ {
			listed[r] = true
			firstRun[r] = int32(len(runStart) - 1)
		}
		runStart = append(runStart, int32(len(runKeys)))
		rank += k
	}
	// The runs left hold only second keys; each goes right after the run
	// where the last of their rules is met, in the order of their buckets.
	type extra struct{ run, bucket uint32 }
	var rest []extra
	for b := range uint32(size) {
		if ms := bucketKeys(b); len(ms) > 0 && !placed[b] {
			r := int32(0)
			for _, i := range ms {
				r = max(r, keys[i].rank)
			}
			rest = append(rest, extra{uint32(firstRun[r]), b})
		}
	}
	slices.SortFunc(rest, func(x, y extra) int {
		if c := cmp.Compare(x.run, y.run); c != 0 {
			return c
		}
		return cmp.Compare(x.bucket, y.bucket)
	})

	var t *addrTable
	if scratch != nil && uint64(len(scratch.buckets)) == size && cap(scratch.nodes) >= len(keys) {
		t = scratch
		for i := range t.buckets {
			t.buckets[i] = noNode
		}
		t.nodes = t.nodes[:0]
		t.head, t.count, t.nextResize = noNode, len(keys), size
	} else {
		t = &addrTable{head: noNode, count: len(keys), nextResize: size}
		t.setBuckets(size)
		t.nodes = make([]tnode, 0, len(keys)+len(keys)/16) // and room for a few more
	}
	prev := int32(beforeBegin)
	emit := func(run []int32) {
		t.buckets[keys[run[0]].bucket] = prev
		for _, i := range run {
			nn := int32(len(t.nodes))
			k := keyOf(i)
			t.nodes = append(t.nodes, tnode{next: noNode, slot: order[keys[i].rank], hi: k.hi, lo: k.lo, v4: k.v4})
			t.setNext(prev, nn)
			prev = nn
		}
		t.nodes[prev].last = true
	}
	for ri := range len(runStart) - 1 {
		emit(runKeys[runStart[ri]:runStart[ri+1]])
		for len(rest) > 0 && rest[0].run == uint32(ri) {
			emit(bucketKeys(rest[0].bucket))
			rest = rest[1:]
		}
	}
	// The layout is checked, not trusted.
	if got := t.order(nil, len(vals)); !slices.Equal(got, order) {
		return nil
	}
	return t
}

// replayTable adds the rules oldest first (the listing reversed) into a
// table that already has the bucket count the listing's keys call for, so
// that no rehash reorders them: the history "all added since the last
// rehash". It reports false when that history does not list them in order.
func replayTable(vals []ip, order []int32) (*addrTable, bool) {
	n := 0
	for _, s := range order {
		if _, _, two := ruleKeys(vals[s]); two {
			n += 2
		} else {
			n++
		}
	}
	size := bucketCountFor(n)
	t := &addrTable{head: noNode, nextResize: size}
	t.setBuckets(size)
	t.nodes = make([]tnode, 0, n+n/16)
	for i := len(order) - 1; i >= 0; i-- {
		s := order[i]
		first, second, two := ruleKeys(vals[s])
		t.set(first, s)
		if two {
			t.set(second, s)
		}
	}
	return t, slices.Equal(t.order(nil, len(vals)), order)
}

// A bulk build adds many keys to the table at once, with the result that
// adding them one at a time (insert) has, node for node, but without
// following links: the list is an array, and each step (a rehash, or the
// keys added between two rehashes) is a counting sort by bucket, which
// reads and writes memory in order rather than at random.
//
// Between two rehashes, the bucket count is fixed and each key goes to the
// front of its bucket's run, or starts a run at the front of the list; so
// after a group of keys, the list is: the runs the group started, newest
// first, each listing its keys newest first; then the runs there were
// before, in their order, each with the group's keys of its bucket in
// front, newest first. A rehash walks the list and does the same with
// every node: runs in the reverse order of their first node in the old
// list, each listing its nodes in the reverse of their old order.

// bulkEntry is a node of a bulk build's list: its key's hash, and the
// key: the address of a rule's slot, in the form v4 says. (A node's key is
// always its rule's address, in one form or the other.)
type bulkEntry struct {
	h    uint64
	slot int32
	v4   bool
}

// bulkMin is the fewest keys for which insertAll builds in bulk, when the
// table holds fewer keys than that: a bulk build goes over the whole
// list, a key at a time costs a lookup.
const bulkMin = 256

// bulkMax is the most keys a table built in bulk holds: the build takes
// about 56 bytes a key more than adding them one at a time (three lists
// of 16 bytes a key, and where each entry goes), and a rule file of the
// shortest IPv4 address rules (400,000 keys) is then built as it was
// before, within the memory `block import` allows itself.
const bulkMax = 1 << 18

// bulkKey returns the entry of key k of slot.
func bulkKey(k ip, slot int32) bulkEntry { return bulkEntry{keyHash(k), slot, k.v4} }

// insertAll adds keys, none of them in the table and no two alike, in
// their order, as insert would one after another. vals holds the rules'
// addresses by slot.
func (t *addrTable) insertAll(group []bulkEntry, vals []ip) {
	if len(group) < bulkMin || len(group) < t.count || t.count+len(group) > bulkMax {
		t.nodes = withRoom(t.nodes, len(group))
		for _, e := range group {
			v := vals[e.slot]
			t.insert(ip{hi: v.hi, lo: v.lo, v4: e.v4}, e.h, e.slot)
		}
		return
	}
	list, size, count, nextResize := t.bulkList(group)
	total := len(list)
	// The table, its nodes in list order.
	t.mod = newModulus(size)
	if uint64(len(t.buckets)) != size {
		t.buckets = make([]int32, size)
	}
	for i := range t.buckets {
		t.buckets[i] = noNode
	}
	out := t.nodes[:0]
	if cap(out) < total {
		out = make([]tnode, 0, total+total/16) // and room for a few more
	}
	out = out[:total]
	prevBucket := -1
	for i, e := range list {
		v := &vals[e.slot]
		out[i] = tnode{next: int32(i + 1), slot: e.slot, hi: v.hi, lo: v.lo, v4: e.v4}
		if b := int(t.mod.of(e.h)); b != prevBucket {
			if i == 0 {
				t.buckets[b] = beforeBegin
			} else {
				out[i-1].last = true
				t.buckets[b] = int32(i - 1)
			}
			prevBucket = b
		}
	}
	t.head = noNode
	if total > 0 {
		out[total-1].next = noNode
		out[total-1].last = true
		t.head = 0
	}
	t.nodes = out
	t.count = int(count)
	t.nextResize = nextResize
}

// bulkList returns the table's list once the keys of group are added in
// their order (see insertAll), without building the table: each node as
// an entry, in list order; and the bucket count, the number of keys and
// the count at which the table next grows that the table then has.
func (t *addrTable) bulkList(group []bulkEntry) (list []bulkEntry, size, count, nextResize uint64) {
	total := t.count + len(group)
	o := &bulkOrder{size: uint64(len(t.buckets)), count: uint64(t.count), nextResize: t.nextResize}
	o.room(total, o.finalSize(len(group)))
	for p := t.head; p != noNode; p = t.nodes[p].next {
		n := &t.nodes[p]
		o.list = append(o.list, bulkEntry{keyHash(ip{hi: n.hi, lo: n.lo, v4: n.v4}), n.slot, n.v4})
	}
	o.add(group)
	return o.list, o.size, o.count, o.nextResize
}

// bulkOrder is a bulk build's list, and the table's state it stands for,
// to which keys are added a group at a time, as insertAll adds them.
type bulkOrder struct {
	bb                      bulkBuild
	list                    []bulkEntry
	size, count, nextResize uint64
}

// newBulkOrder returns the list of an empty table, with room for most
// keys.
func newBulkOrder(most int) *bulkOrder {
	t := newAddrTable()
	o := &bulkOrder{size: uint64(len(t.buckets)), nextResize: t.nextResize}
	o.room(most, bucketCountFor(most))
	return o
}

// room makes room for total keys, at most size buckets. Room that is not
// used is never touched.
func (o *bulkOrder) room(total int, size uint64) {
	o.bb = bulkBuild{out: make([]bulkEntry, 0, total), at: make([]int32, 0, total),
		count: make([]int32, 0, total), gcount: make([]int32, 0, total), run: make([]int32, 0, size)}
	o.list = make([]bulkEntry, 0, total)
}

// add adds the keys of group, none of them in the list and no two alike,
// in their order.
func (o *bulkOrder) add(group []bulkEntry) {
	if total := len(o.list) + len(group); total > cap(o.list) || total > cap(o.bb.out) {
		// More than there is room for: room for that many, and a quarter
		// more.
		list := o.list
		o.room(total+total/4, o.finalSize(len(group)))
		o.list = append(o.list, list...)
	}
	for done := 0; done < len(group); {
		m, rehash := o.next(len(group) - done)
		o.list = o.bb.step(o.list, group[done:done+m], o.size, rehash)
		done += m
	}
}

// next takes the next step of adding n keys, as insert takes them: before
// the key that calls for it, a rehash; then keys up to the next rehash,
// at least one. It returns how many keys the step adds, and whether it
// starts with a rehash.
func (o *bulkOrder) next(n int) (keys int, rehash bool) {
	if o.count+1 > o.nextResize {
		minBuckets := o.count + 1
		if o.nextResize == 0 {
			minBuckets = max(minBuckets, 11)
		}
		if minBuckets >= o.size {
			o.size = nextBucketCount(o.size)
			rehash = true
		}
		o.nextResize = o.size
	}
	keys = 1
	if o.nextResize > o.count+1 {
		keys = int(min(o.nextResize-o.count, uint64(n)))
	}
	o.count += uint64(keys)
	return keys, rehash
}

// finalSize returns the bucket count once n more keys are added.
func (o *bulkOrder) finalSize(n int) uint64 {
	c := *o
	for n > 0 {
		m, _ := c.next(n)
		n -= m
	}
	return c.size
}

// slots returns the slots of the list's keys in the order the table lists
// their rules: each slot where its first key is met, as order does. There
// are n slots.
func (o *bulkOrder) slots(n int) []int32 {
	seen := make([]bool, n)
	order := make([]int32, 0, n)
	for _, e := range o.list {
		if !seen[e.slot] {
			seen[e.slot] = true
			order = append(order, e.slot)
		}
	}
	return order
}

// listOrder returns the order in which an empty table, once the keys of
// group (none alike) are added to it in their order, lists the slots of
// their rules: each slot where its first key is met, as order does. vals
// holds the rules' addresses by slot. Keys already added to o, the first
// of group, are not added again; o may be nil.
func listOrder(group []bulkEntry, vals []ip, o *bulkOrder) []int32 {
	if len(group) < bulkMin || len(group) > bulkMax {
		// As insertAll adds them, one at a time.
		t := newAddrTable()
		t.insertAll(group, vals)
		return t.order(make([]int32, 0, len(vals)), len(vals))
	}
	if o == nil {
		o = newBulkOrder(len(group))
	}
	o.add(group[o.count:])
	return o.slots(len(vals))
}

// bulkBuild holds a bulk build's scratch arrays.
type bulkBuild struct {
	run    []int32 // by bucket, the run it is in (plus one), 0 for none; room for the last bucket count
	count  []int32 // by run, how many of the list's nodes it has
	gcount []int32 // by run, how many of the group's keys it gets
	at     []int32 // by entry of the list, then of the group, its run
	out    []bulkEntry
}

// buckets returns the per-bucket array for size buckets, all 0.
func (bb *bulkBuild) buckets(size uint64) []int32 {
	if uint64(cap(bb.run)) < size {
		bb.run = make([]int32, size)
	}
	bb.run = bb.run[:size]
	clear(bb.run)
	return bb.run
}

// step returns the list rehashed to size buckets, when rehash is set (the
// list is then at another bucket count), then with the keys of group
// added in their order, at size buckets. Runs are numbered in the order
// they are met: the list's, then those the group starts. The new list has
// the group's runs, newest first, then the list's: newest first after a
// rehash, which starts each run where it meets its first node, else in
// their order. Each run has the group's keys first, newest first, then
// the list's nodes: after a rehash in the reverse of their order (each
// went to the front of its run), else in their order.
func (bb *bulkBuild) step(list, group []bulkEntry, size uint64, rehash bool) []bulkEntry {
	mod := newModulus(size)
	run := bb.buckets(size)
	counts, gcounts := bb.count[:0], bb.gcount[:0]
	at := bb.at[:len(list)+len(group)]
	for i, e := range list {
		b := mod.of(e.h)
		r := run[b]
		if r == 0 {
			counts, gcounts = append(counts, 0), append(gcounts, 0)
			r = int32(len(counts))
			run[b] = r
		}
		counts[r-1]++
		at[i] = r - 1
	}
	old := len(counts)
	for i, e := range group {
		b := mod.of(e.h)
		r := run[b]
		if r == 0 {
			counts, gcounts = append(counts, 0), append(gcounts, 0)
			r = int32(len(counts))
			run[b] = r
		}
		gcounts[r-1]++
		at[len(list)+i] = r - 1
	}
	// Where each run goes: gcounts[r] becomes the end of its group keys,
	// filled from there down; counts[r] the end of its list nodes, filled
	// down, after a rehash, else their start, filled up.
	pos := int32(0)
	place := func(r int) {
		g, c := gcounts[r], counts[r]
		gcounts[r] = pos + g
		if rehash {
			counts[r] = pos + g + c
		} else {
			counts[r] = pos + g
		}
		pos += g + c
	}
	for r := len(counts) - 1; r >= old; r-- {
		place(r)
	}
	if rehash {
		for r := old - 1; r >= 0; r-- {
			place(r)
		}
	} else {
		for r := range old {
			place(r)
		}
	}
	out := bb.out[:len(list)+len(group)]
	if rehash {
		for i, e := range list {
			r := at[i]
			counts[r]--
			out[counts[r]] = e
		}
	} else {
		for i, e := range list {
			r := at[i]
			out[counts[r]] = e
			counts[r]++
		}
	}
	for i, e := range group {
		r := at[len(list)+i]
		gcounts[r]--
		out[gcounts[r]] = e
	}
	bb.count, bb.gcount = counts, gcounts
	// The old list's array takes the next step's list.
	bb.out = list[:0]
	return out
}
