package blocklist

import (
	"cmp"
	"runtime"
	"slices"
)

// Check is answered from two sorted sets of disjoint, non-adjacent closed
// intervals, one per family, searched with binary search: O(log n) in the
// number of rules, whatever their kind. (Node v26 finds addresses in a hash
// table and subnets in a trie, but still scans ranges one by one.)
//
// Each rule adds what it blocks in each family, following Node's
// comparisons across families, which go only through the IPv4-mapped
// prefix ::ffff:0:0/96:
//
//   - an IPv4 address, range or subnet blocks the same addresses in
//     ::ffff:0:0/96 for IPv6 checks: rather than store them twice, an IPv6
//     check of a mapped address also searches the IPv4 set;
//   - an IPv6 address, range or subnet blocks, for IPv4 checks, the IPv4
//     addresses whose mapped form it blocks, with one exception: an IPv6
//     range blocks IPv4 addresses only when both its ends are mapped
//     (Node compares an IPv4 address with each end, and an IPv4 address is
//     not comparable with an unmapped IPv6 one). Those go in the IPv4 set,
//     which never widens what the IPv6 set answers for mapped addresses.

// span4 and span6 are closed intervals of IPv4 and IPv6 addresses.
type span4 struct{ start, end uint32 }

type u128 struct{ hi, lo uint64 }

func (a u128) cmp(b u128) int {
	if c := cmp.Compare(a.hi, b.hi); c != 0 {
		return c
	}
	return cmp.Compare(a.lo, b.lo)
}

// next returns a+1 and whether it did not overflow.
func (a u128) next() (u128, bool) {
	if a.lo != ^uint64(0) {
		return u128{a.hi, a.lo + 1}, true
	}
	if a.hi != ^uint64(0) {
		return u128{a.hi + 1, 0}, true
	}
	return a, false
}

type span6 struct{ start, end u128 }

// spans are intervals waiting to be merged into an index.
type spans struct {
	v4 []span4
	v6 []span6
}

func (s *spans) reset() {
	s.v4, s.v6 = s.v4[:0], s.v6[:0]
}

// mask128 is the network mask of a prefix length.
func mask128(prefix int) u128 {
	if prefix <= 64 {
		return u128{^uint64(0) << (64 - prefix), 0}
	}
	return u128{^uint64(0), ^uint64(0) << (128 - prefix)}
}

func mask32(prefix int) uint32 { return ^uint32(0) << (32 - prefix) }

// add records what rule c blocks.
func (s *spans) add(c crule) {
	a := u128{c.start().hi, c.start().lo}
	switch c.kind {
	case AddressRule:
		if !c.start().v4 {
			s.v6 = append(s.v6, span6{a, a})
		}
		if c.start().v4 || c.start().mapped() {
			v := c.start().v4value()
			s.v4 = append(s.v4, span4{v, v})
		}
	case RangeRule:
		if !c.start().v4 {
			s.v6 = append(s.v6, span6{a, u128{c.end().hi, c.end().lo}})
		}
		if c.start().v4 || c.start().mapped() && c.end().mapped() {
			s.v4 = append(s.v4, span4{c.start().v4value(), c.end().v4value()})
		}
	case SubnetRule:
		p := int(c.prefix)
		if c.start().v4 {
			m := mask32(p)
			v := c.start().v4value()
			s.v4 = append(s.v4, span4{v & m, v | ^m})
			return
		}
		m := mask128(p)
		lo := u128{a.hi & m.hi, a.lo & m.lo}
		s.v6 = append(s.v6, span6{lo, u128{a.hi | ^m.hi, a.lo | ^m.lo}})
		switch {
		case p <= 96:
			// The subnet holds all of ::ffff:0:0/96 or none of it.
			if mappedHi&m.hi == lo.hi && mappedLo&m.lo == lo.lo {
				s.v4 = append(s.v4, span4{0, ^uint32(0)})
			}
		case c.start().mapped():
			m4 := mask32(p - 96)
			v := c.start().v4value()
			s.v4 = append(s.v4, span4{v & m4, v | ^m4})
		}
	}
}

// index is what Check searches: for each family the starts and ends of
// disjoint intervals in increasing order, with a gap between any two.
// An index is never changed once built, so that any number of goroutines
// may search it without a lock.
type index struct {
	v4Start, v4End []uint32
	v6Start, v6End []u128

	// For large sets, a directory by the top 16 bits of the address
	// (of the high half for IPv6): dir[k] is the first interval whose
	// start's top bits are k or more. A search then starts among the few
	// intervals of one prefix, and touches two or three cache lines
	// instead of one per step of a binary search over the whole set.
	v4Dir, v6Dir []uint32
}

const (
	dirBits = 16
	dirMin  = 512 // sets this small are searched whole
)

// buildDir makes the directory of a sorted set of starts, given each
// start's top bits.
func buildDir(n int, top func(int) uint64) []uint32 {
	if n < dirMin {
		return nil
	}
	dir := make([]uint32, 1<<dirBits+1)
	j := 0
	for k := range dir {
		for j < n && top(j) < uint64(k) {
			j++
		}
		dir[k] = uint32(j)
	}
	return dir
}

// has4 reports whether an IPv4 address is blocked.
func (x *index) has4(a uint32) bool {
	s := x.v4Start
	i, j := 0, len(s)
	if d := x.v4Dir; d != nil {
		k := a >> (32 - dirBits)
		i, j = int(d[k]), int(d[k+1])
	}
	// The last interval starting at or before a: the first start after
	// it, within the prefix's intervals, is the first in the whole set.
	// (A search without branches on the data: the loop runs the same for
	// every address, and the processor need not guess.)
	for n := j - i; n > 1; {
		half := n >> 1
		if s[i+half-1] <= a {
			i += half
		}
		n -= half
	}
	if i < j && s[i] <= a {
		i++
	}
	return i > 0 && x.v4End[i-1] >= a
}

// has6 reports whether an IPv6 address is blocked.
func (x *index) has6(a u128) bool {
	if a.hi == mappedHi && a.lo>>32 == 0xffff && x.has4(uint32(a.lo)) {
		return true
	}
	return x.has6only(a)
}

// has6only searches the IPv6 set alone.
func (x *index) has6only(a u128) bool {
	s := x.v6Start
	i, j := 0, len(s)
	if d := x.v6Dir; d != nil {
		k := a.hi >> (64 - dirBits)
		i, j = int(d[k]), int(d[k+1])
	}
	for n := j - i; n > 1; {
		half := n >> 1
		if h := s[i+half-1]; h.hi < a.hi || h.hi == a.hi && h.lo <= a.lo {
			i += half
		}
		n -= half
	}
	if i < j && (s[i].hi < a.hi || s[i].hi == a.hi && s[i].lo <= a.lo) {
		i++
	}
	if i == 0 {
		return false
	}
	e := x.v6End[i-1]
	return e.hi > a.hi || e.hi == a.hi && e.lo >= a.lo
}

// buildIndex returns an index holding old's intervals and the pending
// ones. It sorts only the pending intervals (in place) and merges them with
// old's in one pass. old may be nil.
func buildIndex(old *index, pending *spans) *index {
	x := &index{}
	// IPv4: sort (start, end) packed in a uint64, which is fast.
	packed := make([]uint64, len(pending.v4))
	for i, s := range pending.v4 {
		packed[i] = uint64(s.start)<<32 | uint64(s.end)
	}
	// The two families sort at once when both are large.
	v6 := pending.v6
	if len(packed) >= parallelSortMin && len(v6) >= parallelSortMin && runtime.GOMAXPROCS(0) > 1 {
		done := make(chan struct{})
		go func() {
			sortSpans6(v6)
			close(done)
		}()
		sortPacked(packed)
		<-done
	} else {
		sortPacked(packed)
		sortSpans6(v6)
	}
	var o4s, o4e []uint32
	var o6s, o6e []u128
	if old != nil {
		o4s, o4e, o6s, o6e = old.v4Start, old.v4End, old.v6Start, old.v6End
	}
	n4 := len(o4s) + len(packed)
	x.v4Start, x.v4End = make([]uint32, 0, n4), make([]uint32, 0, n4)
	i, j := 0, 0
	for i < len(o4s) || j < len(packed) {
		var s, e uint32
		if j == len(packed) || i < len(o4s) && o4s[i] <= uint32(packed[j]>>32) {
			s, e = o4s[i], o4e[i]
			i++
		} else {
			s, e = uint32(packed[j]>>32), uint32(packed[j])
			j++
		}
		if k := len(x.v4Start) - 1; k >= 0 && (x.v4End[k] == ^uint32(0) || s <= x.v4End[k]+1) {
			x.v4End[k] = max(x.v4End[k], e)
			continue
		}
		x.v4Start = append(x.v4Start, s)
		x.v4End = append(x.v4End, e)
	}

	n6 := len(o6s) + len(v6)
	x.v6Start, x.v6End = make([]u128, 0, n6), make([]u128, 0, n6)
	i, j = 0, 0
	for i < len(o6s) || j < len(v6) {
		var s, e u128
		if j == len(v6) || i < len(o6s) && o6s[i].cmp(v6[j].start) <= 0 {
			s, e = o6s[i], o6e[i]
			i++
		} else {
			s, e = v6[j].start, v6[j].end
			j++
		}
		if k := len(x.v6Start) - 1; k >= 0 {
			after, ok := x.v6End[k].next()
			if !ok || s.cmp(after) <= 0 {
				if e.cmp(x.v6End[k]) > 0 {
					x.v6End[k] = e
				}
				continue
			}
		}
		x.v6Start = append(x.v6Start, s)
		x.v6End = append(x.v6End, e)
	}
	// Overlapping rules leave spare capacity; a long-lived index should
	// not hold on to it.
	x.v4Start, x.v4End = shrink(x.v4Start), shrink(x.v4End)
	x.v6Start, x.v6End = shrink(x.v6Start), shrink(x.v6End)
	x.v4Dir = buildDir(len(x.v4Start), func(i int) uint64 { return uint64(x.v4Start[i] >> (32 - dirBits)) })
	x.v6Dir = buildDir(len(x.v6Start), func(i int) uint64 { return x.v6Start[i].hi >> (64 - dirBits) })
	return x
}

func shrink[E any](s []E) []E {
	if cap(s)-len(s) > len(s)/4 {
		return slices.Clone(s)
	}
	return s
}

// Loading a rule file sorts every interval, in random order: a radix sort
// from the most significant bits, 11 at a time, splits the intervals into
// 2048 buckets per pass and needs about one pass for random addresses, then
// sorts the small buckets that are left by comparison. Addresses crowded in
// one prefix (2001:db8::/32) take more passes, each on fewer intervals.
const (
	radixBits  = 11
	radixMask  = 1<<radixBits - 1
	radixSmall = 64 // buckets this small are sorted by comparison
)

// parallelSortMin is the number of intervals of each family from which
// the two families are sorted at once (a variable for tests).
var parallelSortMin = 16384

// sortPacked sorts IPv4 intervals packed as start<<32 | end.
func sortPacked(a []uint64) {
	if len(a) <= radixSmall {
		slices.Sort(a)
		return
	}
	radixPacked(a, make([]uint64, len(a)), 64-radixBits)
}

func radixPacked(a, tmp []uint64, shift int) {
	if len(a) <= radixSmall || shift < 0 {
		slices.Sort(a)
		return
	}
	var count [1 << radixBits]int
	for _, v := range a {
		count[v>>shift&radixMask]++
	}
	var start [1 << radixBits]int
	sum := 0
	for i, c := range count {
		start[i] = sum
		sum += c
	}
	next := start
	for _, v := range a {
		d := v >> shift & radixMask
		tmp[next[d]] = v
		next[d]++
	}
	copy(a, tmp)
	for d, c := range count {
		if c > 1 {
			lo := start[d]
			radixPacked(a[lo:lo+c], tmp[lo:lo+c], shift-radixBits)
		}
	}
}

// sortSpans6 sorts IPv6 intervals by start.
func sortSpans6(a []span6) {
	radixSpans6(a, make([]span6, len(a)), 64-radixBits)
}

// radixSpans6 sorts by start.hi from bit shift+radixBits down, then by
// start.lo once start.hi is all read.
func radixSpans6(a, tmp []span6, shift int) {
	if len(a) <= radixSmall || shift < -radixBits {
		slices.SortFunc(a, func(x, y span6) int { return x.start.cmp(y.start) })
		return
	}
	var count [1 << radixBits]int
	for i := range a {
		count[digit6(a[i].start.hi, shift)]++
	}
	var start [1 << radixBits]int
	sum := 0
	for i, c := range count {
		start[i] = sum
		sum += c
	}
	next := start
	for i := range a {
		d := digit6(a[i].start.hi, shift)
		tmp[next[d]] = a[i]
		next[d]++
	}
	copy(a, tmp)
	for d, c := range count {
		if c > 1 {
			lo := start[d]
			radixSpans6(a[lo:lo+c], tmp[lo:lo+c], shift-radixBits)
		}
	}
}

// digit6 is the radix digit of hi that ends at bit shift (its low bits
// when shift is negative, the last, short digit).
func digit6(hi uint64, shift int) uint64 {
	if shift < 0 {
		return hi << -shift & radixMask
	}
	return hi >> shift & radixMask
}
