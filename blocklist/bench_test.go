package blocklist

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"path/filepath"
	"runtime"
	"testing"
)

// benchRules makes n rules like the bench harness's: 60% IPv4, 40% IPv6,
// addresses, ranges and subnets in equal parts, at random places.
func benchRules(n int, seed uint64) []Rule {
	r := rand.New(rand.NewPCG(seed, 1))
	rules := make([]Rule, n)
	for i := range rules {
		v6 := r.IntN(100) < 40
		kind := RuleKind(1 + r.IntN(3))
		var a, e netip.Addr
		prefix := 0
		if !v6 {
			v := r.Uint32()
			a = addr4(v)
			switch kind {
			case RangeRule:
				size := uint32(1 + r.IntN(4096))
				v = min(v, ^uint32(0)-size)
				a, e = addr4(v), addr4(v+size)
			case SubnetRule:
				prefix = 20 + r.IntN(13)
			}
		} else {
			hi, lo := r.Uint64()&^(0xe000<<48)|0x2000<<48, r.Uint64()
			a = addr6(hi, lo)
			switch kind {
			case RangeRule:
				size := uint64(1 + r.IntN(1<<32))
				lo = min(lo, ^uint64(0)-size)
				a, e = addr6(hi, lo), addr6(hi, lo+size)
			case SubnetRule:
				prefix = 48 + r.IntN(81)
			}
		}
		rules[i] = Rule{Kind: kind, Start: a, End: e, Prefix: prefix}
	}
	return rules
}

func addr4(v uint32) netip.Addr {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], v)
	return netip.AddrFrom4(b)
}

func addr6(hi, lo uint64) netip.Addr {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], hi)
	binary.BigEndian.PutUint64(b[8:], lo)
	return netip.AddrFrom16(b)
}

// benchFile is the rule file for n benchRules.
func benchFile(tb testing.TB, n int) []byte {
	b := New()
	for _, r := range benchRules(n, uint64(n)) {
		if err := b.Add(r); err != nil {
			tb.Fatal(err)
		}
	}
	return Format(b)
}

// benchAddrs are addresses to check: half inside rules, half random.
func benchAddrs(n int, rules []Rule) []string {
	r := rand.New(rand.NewPCG(7, 7))
	out := make([]string, n)
	for i := range out {
		var a netip.Addr
		switch {
		case i%2 == 0:
			a = rules[r.IntN(len(rules))].Start
		case r.IntN(100) < 60:
			a = addr4(r.Uint32())
		default:
			a = addr6(r.Uint64()&^(0xe000<<48)|0x2000<<48, r.Uint64())
		}
		out[i] = a.String()
	}
	return out
}

// BenchmarkParse loads a rule file: what `block check --file` does first.
func BenchmarkParse(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		data := benchFile(b, n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := Parse(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCheck checks address strings, as `block check` does per line.
func BenchmarkCheck(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		rules := benchRules(n, uint64(n))
		bl := New()
		for _, r := range rules {
			bl.Add(r) //nolint:errcheck // valid
		}
		addrs := benchAddrs(4096, rules)
		bl.Check(addrs[0], "") //nolint:errcheck // builds the index
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			i := 0
			for b.Loop() {
				a := addrs[i%len(addrs)]
				fam := IPv4
				for j := 0; j < len(a); j++ {
					if a[j] == ':' {
						fam = IPv6
						break
					}
				}
				bl.Check(a, fam) //nolint:errcheck // answers only
				i++
			}
		})
	}
}

// BenchmarkCheckAddr is the check a server makes on each accepted
// connection.
func BenchmarkCheckAddr(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		rules := benchRules(n, uint64(n))
		bl := New()
		for _, r := range rules {
			bl.Add(r) //nolint:errcheck // valid
		}
		addrs := make([]netip.Addr, 4096)
		for i, s := range benchAddrs(len(addrs), rules) {
			addrs[i] = netip.MustParseAddr(s)
		}
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				bl.CheckAddr(addrs[i%len(addrs)])
				i++
			}
		})
	}
}

// BenchmarkMemory reports the heap a loaded list of 100,000 rules holds
// (heap-bytes), the figure the 32 MiB target is about.
func BenchmarkMemory(b *testing.B) {
	data := benchFile(b, 100000)
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		bl, err := Parse(data)
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc), "heap-bytes")
		runtime.KeepAlive(bl)
	}
}

// importBatch is what `block import` reads from a rule file of n
// benchRules before it takes the lock.
func importBatch(tb testing.TB, n int) *Batch {
	var bt Batch
	for _, r := range benchRules(n, uint64(n)) {
		if err := bt.ParseRule([]byte(r.String()), ""); err != nil {
			tb.Fatal(err)
		}
	}
	return &bt
}

// BenchmarkAddBatch adds 100,000 rules read by `block import` to an empty
// list: Node's address table, built as Node builds it.
func BenchmarkAddBatch(b *testing.B) {
	bt := importBatch(b, 100000)
	b.ReportAllocs()
	for b.Loop() {
		bl := New()
		bl.AddBatch(bt)
		bl.mu.Lock()
		bl.dropFormatted() // formatted meanwhile, for the file to write
		bl.mu.Unlock()
	}
}

// BenchmarkAddBatchFormat is what `block import` does with 100,000 rules
// once it has read them: add them to an empty list, then format the rule
// file.
func BenchmarkAddBatchFormat(b *testing.B) {
	bt := importBatch(b, 100000)
	b.ReportAllocs()
	for b.Loop() {
		bl := New()
		bl.AddBatch(bt)
		bl.formatTo(func([]byte) bool { return true })
	}
}

// BenchmarkFormat formats the rule file of 100,000 rules added by `block
// import`, as it is written: a piece at a time.
func BenchmarkFormat(b *testing.B) {
	bl := New()
	bl.AddBatch(importBatch(b, 100000))
	b.ReportAllocs()
	for b.Loop() {
		bl.formatTo(func([]byte) bool { return true })
	}
}

// BenchmarkBatchParse reads 100,000 rule strings into a Batch, as `block
// import` does for each element.
func BenchmarkBatchParse(b *testing.B) {
	rules := benchRules(100000, 100000)
	strs := make([][]byte, len(rules))
	for i, r := range rules {
		strs[i] = []byte(r.String())
	}
	b.ReportAllocs()
	for b.Loop() {
		var bt Batch
		for _, s := range strs {
			if err := bt.ParseRule(s, ""); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// fullFile is a rule file of about MaxFileSize: 170,000 rules, nine in
// ten of them addresses, listed as Node lists them.
func fullFile(tb testing.TB) []byte {
	var bt Batch
	r := rand.New(rand.NewPCG(11, 11))
	for i := range 170000 {
		var s string
		switch {
		case i%10 == 9:
			s = fmt.Sprintf("%s/24", addr4(r.Uint32()))
		case i%7 == 0:
			s = addr6(0x2001<<48|r.Uint64()>>16, r.Uint64()).String()
		default:
			s = addr4(r.Uint32()).String()
		}
		if err := bt.ParseRule([]byte(s), ""); err != nil {
			tb.Fatal(err)
		}
	}
	b := New()
	b.AddBatch(&bt)
	data := Format(b)
	if len(data) > MaxFileSize || len(data) < MaxFileSize*3/4 {
		tb.Fatalf("a full file of %d bytes", len(data))
	}
	return data
}

// BenchmarkAddToFullFile is `block add` to a rule file of about
// MaxFileSize: load, add one address, format.
func BenchmarkAddToFullFile(b *testing.B) {
	data := fullFile(b)
	b.ReportAllocs()
	for b.Loop() {
		bl, err := Parse(data)
		if err != nil {
			b.Fatal(err)
		}
		if err := bl.AddAddress("1.2.3.4", IPv4); err != nil {
			b.Fatal(err)
		}
		bl.formatTo(func([]byte) bool { return true })
	}
}

// BenchmarkBatchParseFile reads a rule file of 100,000 rules into a
// Batch, as `block import` reads a rule file (compare BenchmarkParse,
// which also indexes them).
func BenchmarkBatchParseFile(b *testing.B) {
	data := benchFile(b, 100000)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		var bt Batch
		if _, err := bt.ParseFile(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriteFile writes the rule file of 100,000 rules added by
// `block import`, synced, as Update does.
func BenchmarkWriteFile(b *testing.B) {
	bl := New()
	bl.AddBatch(importBatch(b, 100000))
	path := filepath.Join(b.TempDir(), "rules.json")
	for b.Loop() {
		if err := WriteFile(path, bl); err != nil {
			b.Fatal(err)
		}
	}
}
