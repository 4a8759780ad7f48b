package blocklist

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"testing"
)

// harnessFile is a rule file shaped as the bench harness writes
// rules-N.json for `block check --file`: n rule strings, 60% IPv4 and 40%
// IPv6, addresses, ranges and subnets (networks with their host bits
// cleared) in equal parts, one per line indented by one space.
func harnessFile(tb testing.TB, n int) []byte {
	r := rand.New(rand.NewPCG(uint64(n), 3))
	strs := make([]string, n)
	for i := range strs {
		v6 := r.IntN(100) < 40
		kind := RuleKind(1 + r.IntN(3))
		var rule Rule
		if !v6 {
			v := r.Uint32()
			switch kind {
			case AddressRule:
				rule = Rule{Kind: kind, Start: addr4(v)}
			case RangeRule:
				size := uint32(1 + r.IntN(4096))
				v = min(v, ^uint32(0)-size)
				rule = Rule{Kind: kind, Start: addr4(v), End: addr4(v + size)}
			default:
				p := 20 + r.IntN(13)
				rule = Rule{Kind: kind, Start: netip.PrefixFrom(addr4(v), p).Masked().Addr(), Prefix: p}
			}
		} else {
			hi, lo := r.Uint64()&^(0xe000<<48)|0x2000<<48, r.Uint64()
			switch kind {
			case AddressRule:
				rule = Rule{Kind: kind, Start: addr6(hi, lo)}
			case RangeRule:
				size := uint64(1 + r.IntN(1<<32))
				lo = min(lo, ^uint64(0)-size)
				rule = Rule{Kind: kind, Start: addr6(hi, lo), End: addr6(hi, lo+size)}
			default:
				p := 48 + r.IntN(81)
				rule = Rule{Kind: kind, Start: netip.PrefixFrom(addr6(hi, lo), p).Masked().Addr(), Prefix: p}
			}
		}
		strs[i] = rule.String()
	}
	data, err := json.MarshalIndent(strs, "", " ")
	if err != nil {
		tb.Fatal(err)
	}
	return append(data, '\n')
}

// BenchmarkScan reads the rules of a rule file of the harness's shape in
// one goroutine, into what each reader makes of them: the intervals a
// check searches (Parse, LoadFile), a Batch (`block import`), a list (a
// change to a rule file). ns/rule is the figure to compare.
func BenchmarkScan(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		data := harnessFile(b, n)
		b.Run(fmt.Sprintf("spans/%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			// The same room each time: page faults are not the scan's.
			sp := spans{v4: make([]uint64, 0, n), v6: make([]span6, 0, n)}
			perRule(b, n, func() {
				sp.reset()
				if err := scanElements(data, 0, len(data), true, true, &sp); err != nil {
					b.Fatal(err)
				}
			})
		})
		b.Run(fmt.Sprintf("batch/%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			perRule(b, n, func() {
				var fb fileBatch
				if err := scanElements(data, 0, len(data), true, true, &fb); err != nil {
					b.Fatal(err)
				}
			})
		})
		b.Run(fmt.Sprintf("list/%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			rules := make(ruleList, 0, n)
			perRule(b, n, func() {
				rules = rules[:0]
				if err := scanElements(data, 0, len(data), true, true, &rules); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

// BenchmarkParseHarness is Parse of the harness's 100,000-rule file: the
// scan (in two halves at once) and the index.
func BenchmarkParseHarness(b *testing.B) {
	data := harnessFile(b, 100000)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/100000, "ns/rule")
}

// perRule runs f, which reads n rules, b.N times, and reports the time per
// rule: wall clock (ns/rule) and the CPU time of the thread that ran it
// (cpu-ns/rule, on Linux), which the other users of a shared machine
// disturb less.
func perRule(b *testing.B, n int, f func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cpu := threadCPU()
	for b.Loop() {
		f()
	}
	if cpu != 0 {
		b.ReportMetric(float64(threadCPU()-cpu)/float64(b.N)/float64(n), "cpu-ns/rule")
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/rule")
}
