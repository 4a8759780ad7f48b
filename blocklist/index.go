package blocklist

import (
	"cmp"
	"math/bits"
	"runtime"
)

// Check is answered from two sorted sets of disjoint, non-adjacent closed
// intervals, one per family, searched with binary search (within one slice
// of a directory, for a large set): O(log n) at worst in the number of
// rules, whatever their kind. (Node v26 finds addresses in a hash table and
// subnets in a trie, but still scans ranges one by one.)
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

// span4 packs a closed interval of IPv4 addresses as start<<32 | end, so
// that intervals sort by start as plain integers.
func span4(start, end uint32) uint64 { return uint64(start)<<32 | uint64(end) }

type u128 struct{ hi, lo uint64 }

func (a u128) cmp(b u128) int {
	if c := cmp.Compare(a.hi, b.hi); c != 0 {
		return c
	}
	return cmp.Compare(a.lo, b.lo)
}

func (a u128) less(b u128) bool { return a.hi < b.hi || a.hi == b.hi && a.lo < b.lo }

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
	v4 []uint64 // span4
	v6 []span6

	// tmp4 and tmp6, when set, have room for v4 and v6: buildIndex sorts
	// with them rather than with new buffers.
	tmp4 []uint64
	tmp6 []span6
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
	// The interval of the rule's 128-bit values: the subnet's mask (an
	// IPv4 subnet's prefix counts from bit 96 of its mapped form) and the
	// range's end, without a branch on the kind.
	p := int(c.prefix) + 96*b2i(c.v4)
	if c.kind != SubnetRule {
		p = 128
	}
	mhi, mlo := ^(^uint64(0) >> uint(p)), ^uint64(0)<<uint(128-p)
	ehi, elo := c.sh, c.sl
	if c.kind == RangeRule {
		ehi, elo = c.eh, c.el
	}
	lo := u128{c.sh & mhi, c.sl & mlo}
	hi := u128{ehi | ^mhi, elo | ^mlo}
	if c.v4 {
		s.v4 = append(s.v4, span4(uint32(lo.lo), uint32(hi.lo)))
		return
	}
	s.v6 = append(s.v6, span6{lo, hi})
	if lo.hi != 0 {
		return // above ::ffff:0:0/96: no IPv4 address
	}
	// What an IPv6 rule blocks for IPv4 checks.
	switch c.kind {
	case AddressRule:
		if c.start().mapped() {
			v := c.start().v4value()
			s.v4 = append(s.v4, span4(v, v))
		}
	case RangeRule:
		if c.start().mapped() && c.end().mapped() {
			s.v4 = append(s.v4, span4(c.start().v4value(), c.end().v4value()))
		}
	case SubnetRule:
		switch {
		case c.prefix <= 96:
			// The subnet holds all of ::ffff:0:0/96 or none of it.
			if mappedHi == lo.hi && mappedLo&mlo == lo.lo {
				s.v4 = append(s.v4, span4(0, ^uint32(0)))
			}
		case c.start().mapped():
			m4 := mask32(int(c.prefix) - 96)
			v := c.start().v4value()
			s.v4 = append(s.v4, span4(v&m4, v|^m4))
		}
	}
}

// index is what Check searches: for each family, disjoint intervals in
// increasing order, with a gap between any two, each interval's start and
// end side by side (a search's last step reads both from one cache line).
// An index is never changed once built, so that any number of goroutines
// may search it without a lock.
type index struct {
	v4    []uint64 // start<<32 | end
	v6    []span6
	v4Dir dir
	v6Dir dir // by the high half of the start
}

// dir is a directory of a large sorted set: the span from the first start
// to the last, cut into 2^k equal slices (k such that at most one interval
// starts in each, on average: 2^k is 1 to 2 times the set's size, up to
// 2^17), and for each slice the first interval that starts in it or
// later. (A new index's directory is cut for its intervals before they are
// coalesced, from the first start to the largest: see fresh4.) A search then looks at the few intervals of one slice, which
// lie in a cache line or two, rather than touching a line per step of a
// binary search over the whole set; and as the slices are cut between the
// set's own ends, addresses crowded in one prefix (2001:db8::/32) spread
// over the directory as well as random ones.
type dir struct {
	min   uint64
	shift uint
	first []uint32 // nil for a small set: search it whole
}

// dirMin is the size from which a set has a directory.
const dirMin = 64

// newDir prepares the directory of n sorted keys from first to last; the
// caller fills in first[] (fillDir).
func newDir(n int, first, last uint64) dir {
	if n < dirMin {
		return dir{}
	}
	d := dir{min: first}
	k := min(bits.Len(uint(n)), 17) // 2^k slices, or fewer
	if span := bits.Len64(last - first); span > k {
		d.shift = uint(span - k)
	}
	d.first = make([]uint32, (last-first)>>d.shift+2)
	return d
}

// fill records, going through the keys in order, where each slice starts:
// key is called with 0, 1, ... n-1 in turn.
func (d *dir) fill(n int, key func(int) uint64) {
	if d.first == nil {
		return
	}
	k := 0
	for i := range n {
		s := int((key(i) - d.min) >> d.shift)
		for ; k <= s; k++ {
			d.first[k] = uint32(i)
		}
	}
	for ; k < len(d.first); k++ {
		d.first[k] = uint32(n)
	}
}

// bounds returns the intervals to search for the last one starting at or
// before a key: those starting in its slice. Every interval before them
// starts before the key, every one after starts after it.
func (d *dir) bounds(key uint64, n int) (int, int) {
	if d.first == nil {
		return 0, n
	}
	if key < d.min {
		return 0, 0 // before every interval
	}
	k := (key - d.min) >> d.shift
	if k >= uint64(len(d.first)-1) {
		return n, n // after every start: the last interval, if any
	}
	return int(d.first[k]), int(d.first[k+1])
}

// has4 reports whether an IPv4 address is blocked.
func (x *index) has4(a uint32) bool {
	i, j := x.v4Dir.bounds(uint64(a), len(x.v4))
	return x.has4In(a, i, j)
}

// has4In is has4 with the bounds of a's slice of the directory.
func (x *index) has4In(a uint32, i, j int) bool {
	s := x.v4
	// The first interval of [i, j) that starts after a is the first in
	// the whole set; the one before it is the candidate. (A search without
	// branches on the data: the processor need not guess.)
	for n := j - i; n > 1; {
		half := n >> 1
		if uint32(s[i+half-1]>>32) <= a {
			i += half
		}
		n -= half
	}
	if i < j && uint32(s[i]>>32) <= a {
		i++
	}
	return i > 0 && uint32(s[i-1]) >= a
}

// has6 reports whether an IPv6 address is blocked.
func (x *index) has6(a u128) bool {
	return x.has4Mapped(a) || x.has6only(a)
}

// has4Mapped reports whether a is IPv4-mapped and the IPv4 set blocks its
// IPv4 address.
func (x *index) has4Mapped(a u128) bool {
	return a.hi == mappedHi && a.lo>>32 == 0xffff && x.has4(uint32(a.lo))
}

// has6only searches the IPv6 set alone.
func (x *index) has6only(a u128) bool {
	i, j := x.v6Dir.bounds(a.hi, len(x.v6))
	return x.has6In(a, i, j)
}

// has6In is has6only with the bounds of a's slice of the directory.
func (x *index) has6In(a u128, i, j int) bool {
	s := x.v6
	for n := j - i; n > 1; {
		half := n >> 1
		if h := s[i+half-1].start; h.hi < a.hi || h.hi == a.hi && h.lo <= a.lo {
			i += half
		}
		n -= half
	}
	if i < j && (s[i].start.hi < a.hi || s[i].start.hi == a.hi && s[i].start.lo <= a.lo) {
		i++
	}
	if i == 0 {
		return false
	}
	e := s[i-1].end
	return e.hi > a.hi || e.hi == a.hi && e.lo >= a.lo
}

// buildIndex returns an index holding old's intervals and the pending
// ones. It sorts only the pending intervals (in place) and merges them with
// old's in one pass; with no old intervals, the pending ones become the
// index's. The two families are built at once when both are large. old may
// be nil.
func buildIndex(old *index, pending *spans) *index {
	x := &index{}
	var o4 []uint64
	var o6 []span6
	if old != nil {
		o4, o6 = old.v4, old.v6
	}
	if len(pending.v4) >= parallelSortMin && len(pending.v6) >= parallelSortMin && runtime.GOMAXPROCS(0) > 1 {
		done := make(chan struct{})
		go func() {
			x.v6, x.v6Dir = build6(o6, pending.v6, pending.tmp6)
			close(done)
		}()
		x.v4, x.v4Dir = build4(o4, pending.v4, pending.tmp4)
		<-done
	} else {
		x.v4, x.v4Dir = build4(o4, pending.v4, pending.tmp4)
		x.v6, x.v6Dir = build6(o6, pending.v6, pending.tmp6)
	}
	return x
}

// build4 sorts v4 (with tmp, when it has room) and merges it with old, a
// sorted set, coalescing intervals that overlap or touch. A new set large
// enough for a directory is built by fresh4.
func build4(old, v4, tmp []uint64) ([]uint64, dir) {
	if cap(tmp) < len(v4) {
		tmp = make([]uint64, len(v4))
	}
	if len(old) == 0 && len(v4) >= dirMin {
		return fresh4(v4, tmp[:len(v4)])
	}
	v4 = sortPacked(v4, tmp[:len(v4)])
	var out []uint64
	if len(old) == 0 {
		out = v4[:0] // in place: the merged interval never passes the next one read
	} else {
		out = make([]uint64, 0, len(old)+len(v4))
	}
	i, j := 0, 0
	for i < len(old) || j < len(v4) {
		var v uint64
		if j == len(v4) || i < len(old) && old[i]>>32 <= v4[j]>>32 {
			v = old[i]
			i++
		} else {
			v = v4[j]
			j++
		}
		s, e := uint32(v>>32), uint32(v)
		if k := len(out) - 1; k >= 0 {
			if last := uint32(out[k]); last == ^uint32(0) || s <= last+1 {
				out[k] = out[k]&^0xffffffff | uint64(max(last, e))
				continue
			}
		}
		out = append(out, v)
	}
	var d dir
	if n := len(out); n > 0 {
		d = newDir(n, out[0]>>32, out[n-1]>>32)
		d.fill(n, func(i int) uint64 { return out[i] >> 32 })
	}
	return out, d
}

// build6 is build4 for IPv6.
func build6(old, v6, tmp []span6) ([]span6, dir) {
	if cap(tmp) < len(v6) {
		tmp = make([]span6, len(v6))
	}
	if len(old) == 0 && len(v6) >= dirMin {
		return fresh6(v6, tmp[:len(v6)])
	}
	v6 = sortSpans6(v6, tmp[:len(v6)])
	var out []span6
	if len(old) == 0 {
		out = v6[:0]
	} else {
		out = make([]span6, 0, len(old)+len(v6))
	}
	i, j := 0, 0
	for i < len(old) || j < len(v6) {
		var v span6
		if j == len(v6) || i < len(old) && old[i].start.cmp(v6[j].start) <= 0 {
			v = old[i]
			i++
		} else {
			v = v6[j]
			j++
		}
		if k := len(out) - 1; k >= 0 {
			after, ok := out[k].end.next()
			if !ok || v.start.cmp(after) <= 0 {
				if v.end.cmp(out[k].end) > 0 {
					out[k].end = v.end
				}
				continue
			}
		}
		out = append(out, v)
	}
	var d dir
	if n := len(out); n > 0 {
		d = newDir(n, out[0].start.hi, out[n-1].start.hi)
		d.fill(n, func(i int) uint64 { return out[i].start.hi })
	}
	return out, d
}

// parallelSortMin is the number of intervals of each family from which
// the two families are built at once (a variable for tests).
var parallelSortMin = 16384

// fresh4 builds the IPv4 set of a new index from a, at least dirMin
// intervals, with tmp (as long) as scratch space: a bucket sort into the
// slices of the directory (cut for len(a) intervals from the smallest start
// to the largest), then one pass that coalesces the intervals in place and
// counts those that start in each slice, which the directory's entries
// add up. (When most intervals are coalesced away, the directory is cut
// again for those left.)
func fresh4(a, tmp []uint64) ([]uint64, dir) {
	lo, hi := a[0]>>32, a[0]>>32
	for _, v := range a {
		lo, hi = min(lo, v>>32), max(hi, v>>32)
	}
	d := newDir(len(a), lo, hi)
	c, shift := d.first[:len(d.first)-1], d.shift
	bucket4(a, tmp, c, lo, shift, bucketDepth)
	clear(c)
	m := 0 // intervals out
	for _, v := range tmp {
		if m > 0 {
			// Never past v: the merged interval is written at or before
			// the one read.
			if last := uint32(tmp[m-1]); last == ^uint32(0) || uint32(v>>32) <= last+1 {
				tmp[m-1] = tmp[m-1]&^0xffffffff | uint64(max(last, uint32(v)))
				continue
			}
		}
		tmp[m] = v
		m++
		c[(v>>32-lo)>>shift]++
	}
	prefixSums(c)
	d.first[len(c)] = uint32(m)
	out := tmp[:m]
	if m < len(a)/4 {
		// Cut for far more intervals than are left: cut it again.
		d = newDir(m, out[0]>>32, out[m-1]>>32)
		d.fill(m, func(i int) uint64 { return out[i] >> 32 })
	}
	return out, d
}

// fresh6 is fresh4 for IPv6, the directory cutting the high halves of
// the starts.
func fresh6(a, tmp []span6) ([]span6, dir) {
	lo, hi := a[0].start.hi, a[0].start.hi
	for i := range a {
		lo, hi = min(lo, a[i].start.hi), max(hi, a[i].start.hi)
	}
	d := newDir(len(a), lo, hi)
	c, shift := d.first[:len(d.first)-1], d.shift
	bucket6(a, tmp, c, false, lo, shift, bucketDepth)
	clear(c)
	m := 0
	for i := range tmp {
		v := &tmp[i]
		if m > 0 {
			// v touches the last interval out when its start less one,
			// if it has one, is at most that interval's end.
			o := &tmp[m-1]
			plo, b := bits.Sub64(v.start.lo, 1, 0)
			phi, b := bits.Sub64(v.start.hi, 0, b)
			if b != 0 || phi < o.end.hi || phi == o.end.hi && plo <= o.end.lo {
				if o.end.less(v.end) {
					o.end = v.end
				}
				continue
			}
		}
		c[(v.start.hi-lo)>>shift]++
		tmp[m] = *v
		m++
	}
	prefixSums(c)
	d.first[len(c)] = uint32(m)
	out := tmp[:m]
	if m < len(a)/4 {
		d = newDir(m, out[0].start.hi, out[m-1].start.hi)
		d.fill(m, func(i int) uint64 { return out[i].start.hi })
	}
	return out, d
}
