package blocklist

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestRadixSorts checks the radix sorts on random values and on values
// crowded in one prefix, where they take every pass.
func TestRadixSorts(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	for _, n := range []int{0, 1, 63, 64, 65, 1000, 100000} {
		for _, crowd := range []uint64{0, 1<<64 - 1<<20, 1<<64 - 1} {
			p := make([]uint64, n)
			s := make([]span6, n)
			for i := range p {
				p[i] = r.Uint64() &^ crowd
				s[i] = span6{start: u128{r.Uint64() &^ crowd, r.Uint64() &^ crowd}, end: u128{lo: uint64(i)}}
			}
			want := slices.Clone(p)
			slices.Sort(want)
			sortPacked(p)
			if !slices.Equal(p, want) {
				t.Fatalf("sortPacked: %d values, crowd %x: not sorted", n, crowd)
			}
			sortSpans6(s)
			if !slices.IsSortedFunc(s, func(x, y span6) int { return x.start.cmp(y.start) }) {
				t.Fatalf("sortSpans6: %d values, crowd %x: not sorted", n, crowd)
			}
		}
	}
}
