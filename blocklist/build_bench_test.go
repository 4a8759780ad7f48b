package blocklist

import (
	"math/rand/v2"
	"runtime"
	"testing"
)

// buildSet makes the intervals of a rule file of n rules, 60% IPv4 and 40%
// IPv6, laid out as the set's name says:
//
//   - random: anywhere (IPv6 in 2000::/3), as in the bench harness's files;
//   - db8: IPv6 crowded in 2001:db8::/32, IPv4 in 10.0.0.0/8;
//   - clusters: two clusters far apart in each family;
//   - equal: many intervals starting at the same place (from 500 starts).
func buildSet(name string, n int, seed uint64) ([]uint64, []span6) {
	r := rand.New(rand.NewPCG(seed, 9))
	n4 := n * 6 / 10
	v4 := make([]uint64, n4)
	v6 := make([]span6, n-n4)
	var starts4 []uint32
	var starts6 []u128
	for range 500 {
		starts4 = append(starts4, r.Uint32())
		starts6 = append(starts6, u128{r.Uint64()&^(0xe000<<48) | 0x2000<<48, r.Uint64()})
	}
	for i := range v4 {
		s := r.Uint32()
		switch name {
		case "db8":
			s = 10<<24 | s>>8
		case "clusters":
			if i%2 == 0 {
				s = 10<<24 | s>>16
			} else {
				s = 223<<24 | s>>16
			}
		case "equal":
			s = starts4[r.IntN(len(starts4))]
		}
		size := uint32(0)
		if r.IntN(3) > 0 {
			size = uint32(r.IntN(4096))
		}
		v4[i] = span4(s, s+min(size, ^uint32(0)-s))
	}
	for i := range v6 {
		s := u128{r.Uint64()&^(0xe000<<48) | 0x2000<<48, r.Uint64()}
		switch name {
		case "db8":
			s.hi = 0x20010db8<<32 | s.hi&0xffffffff
		case "clusters":
			if i%2 == 0 {
				s.hi = 0x20010db8<<32 | s.hi&0xffff
			} else {
				s.hi = 0x3fffffff<<32 | s.hi&0xffff
			}
		case "equal":
			s = starts6[r.IntN(len(starts6))]
		}
		size := uint64(0)
		if r.IntN(3) > 0 {
			size = uint64(r.IntN(1 << 32))
		}
		v6[i] = span6{s, u128{s.hi, s.lo + min(size, ^uint64(0)-s.lo)}}
	}
	return v4, v6
}

var buildSets = []string{"random", "db8", "clusters", "equal"}

// BenchmarkBuild builds the index of a loaded rule file of 100k rules
// (60k IPv4 and 40k IPv6 intervals), with the sort's scratch space handed
// over as LoadFile does: both families (at once, then one after the
// other), then each alone. The inputs are
// copied in with the timer stopped.
func BenchmarkBuild(b *testing.B) {
	for _, name := range buildSets {
		v4, v6 := buildSet(name, 100000, 1)
		for _, fam := range []string{"both", "serial", "v4", "v6"} {
			b.Run(name+"/"+fam, func(b *testing.B) {
				in4, in6 := v4, v6
				switch fam {
				case "v4":
					in6 = nil
				case "v6":
					in4 = nil
				case "serial":
					defer func(old int) { parallelSortMin = old }(parallelSortMin)
					parallelSortMin = len(in4) + len(in6) + 1
				}
				p4, p6 := make([]uint64, len(in4)), make([]span6, len(in6))
				t4, t6 := make([]uint64, len(in4)), make([]span6, len(in6))
				var x *index
				for b.Loop() {
					b.StopTimer()
					copy(p4, in4)
					copy(p6, in6)
					sp := spans{v4: p4, v6: p6, tmp4: t4[:0], tmp6: t6[:0]}
					b.StartTimer()
					x = buildIndex(nil, &sp)
				}
				runtime.KeepAlive(x)
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(in4)+len(in6)), "ns/interval")
			})
		}
	}
}
