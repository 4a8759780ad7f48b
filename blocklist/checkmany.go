package blocklist

import "runtime"

// CheckMany sets blocked[i] to whether addrs[i], read in the family
// families[i], is blocked, for each i; an address that does not read is
// not blocked (CheckBytes's error). It answers as CheckBytes does for each
// in turn, and faster for many addresses: see checkMany. addrs, families
// and blocked have the same length.
func (ix *Index) CheckMany(addrs [][]byte, families []string, blocked []bool) {
	checkMany(ix.x, addrs, families, blocked)
	runtime.KeepAlive(ix)
}

// CheckMany sets blocked[i] to whether addrs[i], read in the family
// families[i], is blocked, as (*Index).CheckMany does.
func (b *BlockList) CheckMany(addrs [][]byte, families []string, blocked []bool) {
	checkMany(b.index(), addrs, families, blocked)
}

// manyGroup is how many addresses checkMany looks up together.
const manyGroup = 64

// checkMany looks addresses up a group at a time, in steps: it reads
// every address of the group, then loads the directory entries of all of
// them, then the interval in the middle of each one's slice, and only
// then searches each slice. In a large index each of those loads misses
// the cache; one address at a time, each miss waits for the one before
// (the answer decides what is printed next, a branch the processor
// cannot guess), while loads issued together, none depending on another,
// are served at once.
func checkMany(x *index, addrs [][]byte, families []string, blocked []bool) {
	families, blocked = families[:len(addrs)], blocked[:len(addrs)]
	// Each family's addresses of a group, with where each one's answer
	// goes: the steps then loop over one family, with no branch on it.
	var (
		a4       [manyGroup]uint32
		a6       [manyGroup]u128
		at4, at6 [manyGroup]int
		lo, hi   [manyGroup]int
		touch    uint64
	)
	for len(addrs) > 0 {
		n := min(len(addrs), manyGroup)
		n4, n6 := 0, 0
		for i := range n {
			v4, known := familyOf(families[i])
			a, ok := parseAddress(addrs[i], v4 && known)
			blocked[i] = false
			switch {
			case !ok:
			case a.v4:
				a4[n4], at4[n4] = a.v4value(), i
				n4++
			default:
				a6[n6], at6[n6] = u128{a.hi, a.lo}, i
				n6++
			}
		}
		// IPv4.
		for j := range n4 {
			lo[j], hi[j] = x.v4Dir.bounds(uint64(a4[j]), len(x.v4))
		}
		if s := x.v4; 8*len(s) >= manyTouchMin {
			for j := range n4 {
				// The slice's middle, and the interval before the slice,
				// the answer when none in it starts at or before the
				// address.
				touch += s[min((lo[j]+hi[j])/2, len(s)-1)] + s[max(lo[j]-1, 0)]
			}
		}
		for j := range n4 {
			blocked[at4[j]] = x.has4In(a4[j], lo[j], hi[j])
		}
		// IPv6.
		for j := range n6 {
			lo[j], hi[j] = x.v6Dir.bounds(a6[j].hi, len(x.v6))
		}
		if s := x.v6; 32*len(s) >= manyTouchMin {
			for j := range n6 {
				touch += s[min((lo[j]+hi[j])/2, len(s)-1)].start.lo + s[max(lo[j]-1, 0)].end.lo
			}
		}
		for j := range n6 {
			blocked[at6[j]] = x.has6In(a6[j], lo[j], hi[j]) || x.has4Mapped(a6[j])
		}
		addrs, families, blocked = addrs[n:], families[n:], blocked[n:]
	}
	manySink = touch
}

// manyTouchMin is the size, in bytes, of a family's intervals from which
// checkMany loads the ones it will search before it searches any: a
// smaller set stays in the processor's first cache.
const manyTouchMin = 64 << 10

// manySink keeps checkMany's early loads from being left out: the
// compiler drops a load whose value nothing uses.
//
//lint:ignore U1000 written only, on purpose
var manySink uint64
