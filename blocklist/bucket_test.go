package blocklist

import (
	"cmp"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"slices"
	"testing"
)

// The bucket sort and the index built with it, against slices.Sort and a
// plain coalescing of its result, on inputs laid out to reach every path:
// slices of one or two keys, slices over insertionMax (sorted again over
// their own range), all keys in one slice, equal keys, keys that split off
// one at a time until slices.Sort takes over, and sizes on either side of
// each threshold.

var bucketSizes = []int{0, 1, 2, 3, insertionMax - 1, insertionMax, insertionMax + 1, 2 * insertionMax,
	255, 256, 257, dirMin - 1, dirMin, dirMin + 1, 1023, 1024, 1025, 5000, 1<<16 - 1, 1 << 16, 1<<17 + 1}

var bucketLayouts = []string{"random", "crowded", "low", "clusters", "equal", "pairs", "powers", "tiles", "edges", "sorted", "reverse"}

// gen4 makes n IPv4 intervals laid out as named.
func gen4(layout string, n int, r *rand.Rand) []uint64 {
	out := make([]uint64, n)
	perm := r.Perm(n)
	for i := range out {
		s := r.Uint32()
		switch layout {
		case "pairs":
			s = 10<<24 + uint32(r.IntN(2)) // starts a step apart
		case "tiles":
			// Intervals that touch, in random order.
			s = 10<<24 + 4*uint32(perm[i])
			e := s + 3
			if r.IntN(3) == 0 {
				e-- // a gap
			}
			out[i] = span4(s, e)
			continue
		case "crowded", "low":
			s = 10<<24 | s>>20 // 4096 starts for n intervals
		case "clusters":
			if r.IntN(2) == 0 {
				s = 10<<24 | s>>18
			} else {
				s = 223<<24 | s>>18
			}
		case "equal":
			s = uint32(r.IntN(3)) << 30
		case "powers":
			s = 1 << (i % 32)
			if i%3 == 0 {
				s-- // 2^k-1 beside 2^k
			}
		case "edges":
			s = []uint32{0, 1, ^uint32(0), ^uint32(0) - 1, 1 << 31, 1<<31 - 1}[r.IntN(6)] + uint32(r.IntN(3))
		case "sorted", "reverse":
			s = uint32(i) * 4099
			if layout == "reverse" {
				s = ^s
			}
		}
		e := s
		switch r.IntN(4) {
		case 1:
			e = s + min(uint32(r.IntN(5000)), ^uint32(0)-s)
		case 2:
			e = ^uint32(0)
		case 3:
			e = s + min(uint32(r.IntN(3)), ^uint32(0)-s) // touching or overlapping the next
		}
		out[i] = span4(s, e)
	}
	return out
}

// gen6 makes n IPv6 intervals laid out as named.
func gen6(layout string, n int, r *rand.Rand) []span6 {
	out := make([]span6, n)
	perm := r.Perm(n)
	for i := range out {
		s := u128{r.Uint64(), r.Uint64()}
		switch layout {
		case "pairs":
			if i%100 != 0 {
				s = u128{5, 1<<40 + uint64(r.IntN(2))}
			}
			if i%2 == 0 {
				s.hi, s.lo = s.lo, s.hi // high halves in pairs too
			}
		case "tiles":
			// Intervals that touch, in random order, across a step of
			// the high half.
			add := func(a u128, d uint64) u128 {
				lo, c := bits.Add64(a.lo, d, 0)
				return u128{a.hi + c, lo}
			}
			s = add(u128{7, ^uint64(0) - 2*uint64(n)}, 4*uint64(perm[i]))
			e := add(s, 3)
			if r.IntN(3) == 0 {
				e = add(s, 2) // a gap
			}
			out[i] = span6{s, e}
			continue
		case "crowded":
			s.hi = 0x20010db8<<32 | s.hi>>52
		case "low":
			s.hi = 0x20010db8 << 32 // all in one /64: sorted by the low halves
			s.lo >>= r.IntN(64)
		case "clusters":
			if r.IntN(2) == 0 {
				s.hi = 0x20010db8<<32 | s.hi>>50
			} else {
				s.hi = 0xffffc000<<32 | s.hi>>50
			}
		case "equal":
			s = u128{uint64(r.IntN(3)) << 62, uint64(r.IntN(2))}
		case "powers":
			if i%2 == 0 {
				s = u128{1 << (i % 64), 0}
			} else {
				s = u128{1, 1 << (i % 64)}
			}
		case "edges":
			s = []u128{{}, {0, 1}, {0, ^uint64(0)}, {1, 0}, {^uint64(0), ^uint64(0)}, {^uint64(0), 0}}[r.IntN(6)]
		case "sorted", "reverse":
			s = u128{uint64(i) << 40, uint64(i)}
			if layout == "reverse" {
				s = u128{^s.hi, ^s.lo}
			}
		}
		e := s
		switch r.IntN(4) {
		case 1:
			e.lo = s.lo + min(r.Uint64N(1<<40), ^uint64(0)-s.lo)
		case 2:
			e = u128{s.hi + min(r.Uint64N(4), ^uint64(0)-s.hi), r.Uint64()}
			if e.hi == s.hi {
				e.lo = max(e.lo, s.lo)
			}
		case 3:
			e = u128{^uint64(0), ^uint64(0)}
		}
		out[i] = span6{s, e}
	}
	return out
}

// coalesce4 is the plain coalescing of sorted IPv4 intervals.
func coalesce4(v []uint64) []uint64 {
	var out []uint64
	for _, x := range v {
		if k := len(out) - 1; k >= 0 {
			last := uint32(out[k])
			if last == ^uint32(0) || uint32(x>>32) <= last+1 {
				out[k] = span4(uint32(out[k]>>32), max(last, uint32(x)))
				continue
			}
		}
		out = append(out, x)
	}
	return out
}

func coalesce6(v []span6) []span6 {
	var out []span6
	for _, x := range v {
		if k := len(out) - 1; k >= 0 {
			after, ok := out[k].end.next()
			if !ok || x.start.cmp(after) <= 0 {
				if x.end.cmp(out[k].end) > 0 {
					out[k].end = x.end
				}
				continue
			}
		}
		out = append(out, x)
	}
	return out
}

func cmpStart4(x, y uint64) int { return cmp.Compare(x>>32, y>>32) }

func cmpSpan6(x, y span6) int {
	if c := x.start.cmp(y.start); c != 0 {
		return c
	}
	return x.end.cmp(y.end)
}

// checkDir checks a directory against its definition: first[k] is the
// number of intervals starting in slices before k, the slices cut from the
// first start. (A new index's directory is cut for the intervals before
// they are coalesced: it may have more slices than the set has intervals,
// but not many more.)
func checkDir(t *testing.T, d dir, starts []uint64) {
	t.Helper()
	if len(starts) < dirMin && d.first == nil {
		return
	}
	if len(d.first)-1 > 8*len(starts) {
		t.Fatalf("directory of %d slices for %d intervals", len(d.first)-1, len(starts))
	}
	if d.first == nil || d.min != starts[0] || len(d.first) < 2 {
		t.Fatalf("directory: min %x, %d entries; first start %x", d.min, len(d.first), starts[0])
	}
	if (starts[len(starts)-1]-d.min)>>d.shift >= uint64(len(d.first)-1) {
		t.Fatalf("directory: the last start is past its slices")
	}
	i := 0
	for k := range d.first {
		for i < len(starts) && (starts[i]-d.min)>>d.shift < uint64(k) {
			i++
		}
		if int(d.first[k]) != i {
			t.Fatalf("directory entry %d of %d: %d, want %d", k, len(d.first), d.first[k], i)
		}
	}
}

// TestBucketSort checks sortPacked and sortSpans6 against slices.Sort.
func TestBucketSort(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, layout := range bucketLayouts {
		for _, n := range bucketSizes {
			name := fmt.Sprintf("%s/%d", layout, n)
			a := gen4(layout, n, r)
			want := slices.Clone(a)
			slices.Sort(want)
			got := sortPacked(a, make([]uint64, n))
			// Sorted by start; equal starts in any order.
			if !slices.IsSortedFunc(got, cmpStart4) {
				t.Fatalf("sortPacked %s: not sorted", name)
			}
			if slices.Sort(got); !slices.Equal(got, want) {
				t.Fatalf("sortPacked %s: not the same intervals", name)
			}
			a6 := gen6(layout, n, r)
			want6 := slices.Clone(a6)
			slices.SortFunc(want6, cmpSpan6)
			got6 := sortSpans6(a6, make([]span6, n))
			// Sorted by start; equal starts in any order.
			if !slices.IsSortedFunc(got6, func(x, y span6) int { return x.start.cmp(y.start) }) {
				t.Fatalf("sortSpans6 %s: not sorted", name)
			}
			slices.SortFunc(got6, cmpSpan6)
			if !slices.Equal(got6, want6) {
				t.Fatalf("sortSpans6 %s: not the same intervals", name)
			}
		}
	}
}

// TestBucketBuild checks a new index built with the bucket sort against
// slices.Sort and plain coalescing, its directory against its definition,
// and its answers at and beside every interval's ends and at random.
func TestBucketBuild(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for _, layout := range bucketLayouts {
		for _, n := range bucketSizes {
			name := fmt.Sprintf("%s/%d", layout, n)
			v4, v6 := gen4(layout, n, r), gen6(layout, n, r)
			s4 := slices.Clone(v4)
			slices.Sort(s4)
			want4 := coalesce4(s4)
			s6 := slices.Clone(v6)
			slices.SortFunc(s6, cmpSpan6)
			want6 := coalesce6(s6)
			// Scratch space as LoadFile hands it over (longer than
			// needed), or none.
			sp := spans{v4: v4, v6: v6}
			if n%2 == 0 {
				sp.tmp4, sp.tmp6 = make([]uint64, 0, n+7), make([]span6, 0, n+7)
			}
			x := buildIndex(nil, &sp)
			if !slices.Equal(x.v4, want4) {
				t.Fatalf("%s: IPv4 set differs: %d intervals, want %d", name, len(x.v4), len(want4))
			}
			if !slices.Equal(x.v6, want6) {
				t.Fatalf("%s: IPv6 set differs: %d intervals, want %d", name, len(x.v6), len(want6))
			}
			if n >= dirMin {
				starts := make([]uint64, len(x.v4))
				for i, v := range x.v4 {
					starts[i] = v >> 32
				}
				checkDir(t, x.v4Dir, starts)
				starts = starts[:0]
				for _, v := range x.v6 {
					starts = append(starts, v.start.hi)
				}
				checkDir(t, x.v6Dir, starts)
			}
			checkAnswers4(t, name, x, want4, r)
			checkAnswers6(t, name, x, want6, r)
		}
	}
}

func checkAnswers4(t *testing.T, name string, x *index, set []uint64, r *rand.Rand) {
	t.Helper()
	want := func(a uint32) bool {
		i, _ := slices.BinarySearchFunc(set, a, func(v uint64, a uint32) int {
			if uint32(v>>32) <= a {
				return -1
			}
			return 1
		})
		return i > 0 && uint32(set[i-1]) >= a
	}
	try := func(a uint32) {
		if got := x.has4(a); got != want(a) {
			t.Fatalf("%s: has4(%#x) = %v, want %v", name, a, got, !got)
		}
	}
	for _, v := range set {
		s, e := uint32(v>>32), uint32(v)
		try(s)
		try(e)
		try(s - 1)
		try(e + 1)
	}
	for range 2000 {
		try(r.Uint32())
	}
}

func checkAnswers6(t *testing.T, name string, x *index, set []span6, r *rand.Rand) {
	t.Helper()
	want := func(a u128) bool {
		i, _ := slices.BinarySearchFunc(set, a, func(v span6, a u128) int {
			if v.start.cmp(a) <= 0 {
				return -1
			}
			return 1
		})
		return i > 0 && set[i-1].end.cmp(a) >= 0
	}
	try := func(a u128) {
		if got := x.has6only(a); got != want(a) {
			t.Fatalf("%s: has6only(%x) = %v, want %v", name, a, got, !got)
		}
	}
	prev := func(a u128) u128 {
		if a.lo == 0 {
			return u128{a.hi - 1, ^uint64(0)}
		}
		return u128{a.hi, a.lo - 1}
	}
	for _, v := range set {
		try(v.start)
		try(v.end)
		try(prev(v.start))
		n, _ := v.end.next()
		try(n)
		try(u128{v.start.hi, 0})
	}
	for range 2000 {
		try(u128{r.Uint64(), r.Uint64()})
	}
}

// TestBucketSlices checks the two steps before the insertion sort that
// ends a bucket sort: each key is moved into its slice, and each slice that
// holds more than insertionMax keys is then sorted (or the insertion sort
// could take quadratic time), down to depth 0, where slices.Sort does it.
func TestBucketSlices(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	for _, layout := range bucketLayouts {
		for _, n := range bucketSizes[7:] {
			for _, depth := range []int{0, 1, bucketDepth - 1} {
				if n > 5000 && depth != bucketDepth-1 {
					continue
				}
				name := fmt.Sprintf("%s/%d/depth %d", layout, n, depth)
				a := gen4(layout, n, r)
				lo, hi := slices.Min(a)>>32, slices.Max(a)>>32
				shift, nb := bucketShift(n, hi-lo)
				c := make([]uint32, nb)
				tmp := make([]uint64, n)
				want := slices.Sorted(slices.Values(a))
				most := spread4(a, tmp, c, lo, shift)
				sortLarge4(tmp, a, c, depth)
				crowded := 0
				begin := 0
				for sl, e := range c {
					b := tmp[begin:e]
					for _, v := range b {
						if (v>>32-lo)>>shift != uint64(sl) {
							t.Fatalf("%s: key %x in slice %d", name, v, sl)
						}
					}
					if len(b) > insertionMax {
						crowded++
						if !slices.IsSortedFunc(b, cmpStart4) {
							t.Fatalf("%s: slice %d of %d keys not sorted", name, sl, len(b))
						}
					}
					if uint32(len(b)) > most {
						t.Fatalf("%s: %d keys in slice %d, most %d", name, len(b), sl, most)
					}
					begin = int(e)
				}
				if slices.Sort(tmp); !slices.Equal(tmp, want) {
					t.Fatalf("%s: keys lost", name)
				}
				if layout == "clusters" && n > 1000 && crowded == 0 {
					t.Fatalf("%s: no crowded slice: the test tests nothing", name)
				}

				a6 := gen6(layout, n, r)
				lo, hi = a6[0].start.hi, a6[0].start.hi
				for _, v := range a6 {
					lo, hi = min(lo, v.start.hi), max(hi, v.start.hi)
				}
				low := lo == hi
				key := func(v span6) uint64 { return v.start.hi }
				if low {
					key = func(v span6) uint64 { return v.start.lo }
					lo, hi = a6[0].start.lo, a6[0].start.lo
					for _, v := range a6 {
						lo, hi = min(lo, v.start.lo), max(hi, v.start.lo)
					}
				}
				shift, nb = bucketShift(n, hi-lo)
				c = make([]uint32, nb)
				tmp6 := make([]span6, n)
				want6 := slices.SortedFunc(slices.Values(a6), cmpSpan6)
				spread6(a6, tmp6, c, low, lo, shift)
				sortLarge6(tmp6, a6, c, depth)
				begin = 0
				for sl, e := range c {
					b := tmp6[begin:e]
					for _, v := range b {
						if (key(v)-lo)>>shift != uint64(sl) {
							t.Fatalf("%s: IPv6 interval %x in slice %d", name, v.start, sl)
						}
					}
					if len(b) > insertionMax && !slices.IsSortedFunc(b, func(x, y span6) int { return x.start.cmp(y.start) }) {
						t.Fatalf("%s: IPv6 slice %d of %d intervals not sorted", name, sl, len(b))
					}
					begin = int(e)
				}
				if slices.SortFunc(tmp6, cmpSpan6); !slices.Equal(tmp6, want6) {
					t.Fatalf("%s: IPv6 intervals lost", name)
				}
			}
		}
	}
}

// FuzzBuildIndex checks a new index against slices.Sort and plain
// coalescing on intervals laid out as the fuzzer picks: a layout, a size
// (past dirMin, where the bucket sort builds the directory, or below), and
// a mask of low bits cleared from the starts, to crowd them.
func FuzzBuildIndex(f *testing.F) {
	f.Add(uint64(1), uint16(600), uint8(0), uint8(0))
	f.Add(uint64(2), uint16(3000), uint8(3), uint8(40))
	f.Add(uint64(3), uint16(513), uint8(5), uint8(63))
	f.Add(uint64(4), uint16(779), uint8(7), uint8(0))
	f.Fuzz(func(t *testing.T, seed uint64, n uint16, layout, crowd uint8) {
		r := rand.New(rand.NewPCG(seed, 17))
		size := int(n % 4000)
		name := bucketLayouts[int(layout)%len(bucketLayouts)]
		v4, v6 := gen4(name, size, r), gen6(name, size, r)
		m4 := ^uint32(0) << (crowd % 32)
		m6 := ^uint64(0) << (crowd % 64)
		for i := range v4 {
			s, e := uint32(v4[i]>>32)&m4, uint32(v4[i])
			v4[i] = span4(s, max(s, e))
			v6[i].start.lo &= m6
			if v6[i].end.cmp(v6[i].start) < 0 {
				v6[i].end = v6[i].start
			}
		}
		s4 := slices.Sorted(slices.Values(v4))
		want4 := coalesce4(s4)
		want6 := coalesce6(slices.SortedFunc(slices.Values(v6), cmpSpan6))
		x := buildIndex(nil, &spans{v4: v4, v6: v6})
		if !slices.Equal(x.v4, want4) || !slices.Equal(x.v6, want6) {
			t.Fatalf("%s/%d: the sets differ from sorting and coalescing", name, size)
		}
		checkAnswers4(t, name, x, want4, r)
		checkAnswers6(t, name, x, want6, r)
	})
}
