package blocklist

import (
	"math/bits"
	"slices"
)

// Loading a rule file sorts every interval, in random order, by start. The
// sort here is a bucket sort: the span from the smallest start to the
// largest is cut into about as many equal slices as there are intervals
// (as the index's directory is, and for a fresh index into the very same
// slices), one pass counts the intervals of each slice, a second moves
// each to its slice's place, and the few intervals of each slice are then
// sorted by insertion: two passes over the data where a comparison sort
// would take about 16 comparisons per interval and a radix sort four or
// five passes.
//
// A slice that holds many intervals (addresses crowded in a few far-apart
// places; many equal starts) is sorted the same way over its own smallest
// and largest start, and so on down to bucketDepth levels; beyond that
// (keys spread so that each level splits off only a few, say powers of
// two) slices.Sort finishes it, which keeps the worst case O(n log n).
const (
	insertionMax = 24 // at most this many keys are sorted by insertion
	bucketDepth  = 4  // levels of bucket passes before slices.Sort
)

// bucketShift returns the shift that cuts keys 0..span into at most 2^k
// slices, k being the bit length of n (2^k is n+1 to 2n slices), and the
// number of slices.
func bucketShift(n int, span uint64) (uint, int) {
	k := bits.Len(uint(n))
	var shift uint
	if w := bits.Len64(span); w > k {
		shift = uint(w - k)
	}
	return shift, int(span>>shift) + 1
}

// prefixSums turns counts into the place where each slice's keys start,
// and returns the largest count.
func prefixSums(c []uint32) uint32 {
	sum, most := uint32(0), uint32(0)
	for i, k := range c {
		c[i] = sum
		sum += k
		most = max(most, k)
	}
	return most
}

// sortPacked sorts IPv4 intervals packed as start<<32 | end by start (not
// by end where starts are equal) and returns them: in a or in tmp, which has
// room for a.
func sortPacked(a, tmp []uint64) []uint64 {
	return sort4(a, tmp[:len(a)], bucketDepth)
}

// sort4 sorts IPv4 intervals by start, using tmp (as long as a) as scratch
// space, and returns them: in a or in tmp.
func sort4(a, tmp []uint64, depth int) []uint64 {
	n := len(a)
	if n <= insertionMax {
		insertion4(a)
		return a
	}
	lo, hi := a[0]>>32, a[0]>>32
	for _, v := range a {
		lo, hi = min(lo, v>>32), max(hi, v>>32)
	}
	if lo == hi {
		return a
	}
	if depth == 0 {
		slices.Sort(a)
		return a
	}
	shift, nb := bucketShift(n, hi-lo)
	var buf [512]uint32
	var c []uint32
	if nb <= len(buf) {
		c = buf[:nb]
	} else {
		c = make([]uint32, nb)
	}
	bucket4(a, tmp, c, lo, shift, depth)
	return tmp
}

// bucket4 sorts IPv4 intervals by start from a into tmp (as long), by
// slices: the slice of an interval starting at v is (v - lo) >> shift, c
// (zeroed) has one count for each. On return, c[s] is where slice s ends in
// tmp.
func bucket4(a, tmp []uint64, c []uint32, lo uint64, shift uint, depth int) {
	if spread4(a, tmp, c, lo, shift) > insertionMax {
		sortLarge4(tmp, a, c, depth-1)
	}
	// Each interval is now in its slice, and no slice holds more than
	// insertionMax out of order: one insertion sort over them all
	// finishes (with fewer unpredictable branches than a sort per slice).
	insertion4(tmp)
}

// spread4 moves the intervals of a into tmp, slice by slice, and returns
// the number of intervals of the most crowded slice.
func spread4(a, tmp []uint64, c []uint32, lo uint64, shift uint) uint32 {
	for _, v := range a {
		c[(v>>32-lo)>>shift]++
	}
	most := prefixSums(c)
	for _, v := range a {
		s := (v>>32 - lo) >> shift
		tmp[c[s]] = v
		c[s]++
	}
	return most
}

// sortLarge4 sorts, in place, each slice of b that holds more than
// insertionMax intervals, c[s] being where slice s ends, with scratch space as
// long as b.
func sortLarge4(b, scratch []uint64, c []uint32, depth int) {
	begin := 0
	for _, e := range c {
		if end := int(e); end-begin > insertionMax {
			if r := sort4(b[begin:end], scratch[begin:end], depth); &r[0] != &b[begin] {
				copy(b[begin:end], r)
			}
		}
		begin = int(e)
	}
}

func insertion4(a []uint64) {
	for i := 1; i < len(a); i++ {
		v := a[i]
		j := i
		for ; j > 0 && a[j-1]>>32 > v>>32; j-- {
			a[j] = a[j-1]
		}
		a[j] = v
	}
}

// sortSpans6 sorts IPv6 intervals by start and returns them: in a or in
// tmp, which has room for a.
func sortSpans6(a, tmp []span6) []span6 {
	return sort6(a, tmp[:len(a)], bucketDepth)
}

// sort6 is sort4 for IPv6 intervals, by start: by the high half of the
// start, or, where the high halves are all equal, by the low half.
func sort6(a, tmp []span6, depth int) []span6 {
	n := len(a)
	if n <= insertionMax {
		insertion6(a)
		return a
	}
	lo, hi := a[0].start.hi, a[0].start.hi
	for i := range a {
		lo, hi = min(lo, a[i].start.hi), max(hi, a[i].start.hi)
	}
	low := lo == hi // sort by the low halves
	if low {
		lo, hi = a[0].start.lo, a[0].start.lo
		for i := range a {
			lo, hi = min(lo, a[i].start.lo), max(hi, a[i].start.lo)
		}
		if lo == hi {
			return a
		}
	}
	if depth == 0 {
		slices.SortFunc(a, func(x, y span6) int { return x.start.cmp(y.start) })
		return a
	}
	shift, nb := bucketShift(n, hi-lo)
	var buf [512]uint32
	var c []uint32
	if nb <= len(buf) {
		c = buf[:nb]
	} else {
		c = make([]uint32, nb)
	}
	bucket6(a, tmp, c, low, lo, shift, depth)
	return tmp
}

// bucket6 is bucket4 for IPv6 intervals, the slice of an interval being
// (start.hi - lo) >> shift, or with low set (start.lo - lo) >> shift.
func bucket6(a, tmp []span6, c []uint32, low bool, lo uint64, shift uint, depth int) {
	if spread6(a, tmp, c, low, lo, shift) > insertionMax {
		sortLarge6(tmp, a, c, depth-1)
	}
	insertion6(tmp)
}

// spread6 is spread4 for IPv6 intervals.
func spread6(a, tmp []span6, c []uint32, low bool, lo uint64, shift uint) uint32 {
	var most uint32
	if low {
		for i := range a {
			c[(a[i].start.lo-lo)>>shift]++
		}
		most = prefixSums(c)
		for i := range a {
			s := (a[i].start.lo - lo) >> shift
			tmp[c[s]] = a[i]
			c[s]++
		}
	} else {
		for i := range a {
			c[(a[i].start.hi-lo)>>shift]++
		}
		most = prefixSums(c)
		for i := range a {
			s := (a[i].start.hi - lo) >> shift
			tmp[c[s]] = a[i]
			c[s]++
		}
	}
	return most
}

// sortLarge6 is sortLarge4 for IPv6 intervals.
func sortLarge6(b, scratch []span6, c []uint32, depth int) {
	begin := 0
	for _, e := range c {
		if end := int(e); end-begin > insertionMax {
			if r := sort6(b[begin:end], scratch[begin:end], depth); &r[0] != &b[begin] {
				copy(b[begin:end], r)
			}
		}
		begin = int(e)
	}
}

func insertion6(a []span6) {
	for i := 1; i < len(a); i++ {
		v := a[i]
		j := i
		for ; j > 0 && (a[j-1].start.hi > v.start.hi || a[j-1].start.hi == v.start.hi && a[j-1].start.lo > v.start.lo); j-- {
			a[j] = a[j-1]
		}
		a[j] = v
	}
}
