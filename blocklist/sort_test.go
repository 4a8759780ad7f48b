package blocklist

import (
	"cmp"
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
				if i%2 == 0 {
					s[i].start.hi = 0x20010db8 << 32 // equal high halves, sorted by the low ones
				}
			}
			want := slices.Clone(p)
			slices.Sort(want)
			got := sortPacked(p, make([]uint64, len(p)))
			// Sorted by start; equal starts in any order.
			if !slices.IsSortedFunc(got, func(x, y uint64) int { return cmp.Compare(x>>32, y>>32) }) {
				t.Fatalf("sortPacked: %d values, crowd %x: not sorted", n, crowd)
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("sortPacked: %d values, crowd %x: values lost", n, crowd)
			}
			want6 := slices.Clone(s)
			got6 := sortSpans6(s, make([]span6, len(s)))
			if !slices.IsSortedFunc(got6, func(x, y span6) int { return x.start.cmp(y.start) }) {
				t.Fatalf("sortSpans6: %d values, crowd %x: not sorted", n, crowd)
			}
			slices.SortFunc(want6, func(x, y span6) int { return x.start.cmp(y.start) })
			if !slices.EqualFunc(got6, want6, func(x, y span6) bool { return x.start == y.start }) {
				t.Fatalf("sortSpans6: %d values, crowd %x: values lost", n, crowd)
			}
		}
	}
}

// TestDirEdges checks the directory's edges: before the first start, in
// the last slice, after it, with a last interval wider than the slices.
func TestDirEdges(t *testing.T) {
	b := New()
	for i := range 1000 {
		must(t, b.AddAddress(addr4(0x0a000000+uint32(i)*7).String(), ""))
		must(t, b.AddAddress(addr6(0x20010db8<<32, uint64(i)*7).String(), "ipv6"))
	}
	must(t, b.AddSubnet("200.0.0.0", 8, ""))
	must(t, b.AddSubnet("f000::", 4, "ipv6"))
	x := b.index()
	if x.v4Dir.first == nil || x.v6Dir.first == nil {
		t.Fatal("no directory: the test tests nothing")
	}
	for _, c := range []struct {
		a    string
		want bool
	}{
		{"9.255.255.255", false}, {"10.0.0.0", true}, {"10.0.0.1", false}, {"10.0.27.81", true}, {"10.0.27.82", false},
		{"199.255.255.255", false}, {"200.0.0.0", true}, {"200.255.255.255", true}, {"201.0.0.0", false},
		{"2001:db8::", true}, {"2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", false}, {"2001:db8::1b51", true},
		{"2001:db8::1b52", false}, {"efff:ffff::", false}, {"f000::", true}, {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true},
		{"::ffff:200.1.2.3", true}, {"::ffff:201.1.2.3", false},
	} {
		if got, _ := b.Check(c.a, familyOfTest(c.a)); got != c.want {
			t.Errorf("check(%s) = %v, want %v", c.a, got, c.want)
		}
	}
}

func familyOfTest(a string) string {
	for i := 0; i < len(a); i++ {
		if a[i] == ':' {
			return IPv6
		}
	}
	return IPv4
}

// TestModulus checks the division-free remainder the address table finds
// buckets with against %, for every bucket count and hashes at the edges
// and at random.
func TestModulus(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	hs := []uint64{0, 1, 2, 1<<32 - 1, 1 << 32, 1<<63 - 1, 1 << 63, ^uint64(0), ^uint64(0) - 1}
	for range 20000 {
		hs = append(hs, r.Uint64(), r.Uint64()>>r.IntN(64))
	}
	ds := append([]uint64{1, 2, 3, 7, 11, 1<<31 - 1, 1 << 31, 1<<32 - 1, 1<<32 - 5}, bucketCounts[:]...)
	for range 200 {
		ds = append(ds, 2+r.Uint64N(1<<32-2))
	}
	for _, d := range ds {
		m := newModulus(d)
		for _, h := range hs {
			if got := m.of(h); got != h%d {
				t.Fatalf("%d %% %d: got %d, want %d", h, d, got, h%d)
			}
		}
		for _, h := range []uint64{d - 1, d, d + 1, d * d, d*d - 1, ^uint64(0) / d * d, ^uint64(0)/d*d - 1} {
			if got := m.of(h); got != h%d {
				t.Fatalf("%d %% %d: got %d, want %d", h, d, got, h%d)
			}
		}
	}
}
