package blocklist

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
)

// TestCheckMany: CheckMany answers as CheckBytes does, address by
// address, for an Index (parsed and read back from the cache) and a
// BlockList, in groups of every size around checkMany's, with rules and
// addresses of both families, IPv4-mapped ones on both sides, addresses
// that do not read, and every kind of family argument.
func TestCheckMany(t *testing.T) {
	for _, n := range []int{0, 1, 40, 700, 20000} {
		rules := append(benchRules(n, uint64(n)+3), mappedRules()...)
		b := New()
		for _, r := range rules {
			if err := b.Add(r); err != nil {
				t.Fatal(err)
			}
		}
		path := filepath.Join(t.TempDir(), "rules.json")
		must(t, os.WriteFile(path, Format(b), 0o644))
		cache := filepath.Join(t.TempDir(), "cache")
		parsed, err := LoadIndex(path, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := LoadIndex(path, cache); err != nil {
			t.Fatal(err)
		}
		cached, err := LoadIndex(path, cache)
		if err != nil {
			t.Fatal(err)
		}
		addrs, fams := manyTestAddrs(rules, uint64(n))
		lists := map[string]interface {
			CheckBytes([]byte, string) (bool, error)
			CheckMany([][]byte, []string, []bool)
		}{"parsed": parsed, "cached": cached, "list": b}
		for name, l := range lists {
			for _, group := range []int{1, 2, manyGroup - 1, manyGroup, manyGroup + 1, 3*manyGroup + 5, len(addrs)} {
				got := make([]bool, len(addrs))
				for i := range got {
					got[i] = i%3 == 0 // stale answers: each is set
				}
				for i := 0; i < len(addrs); i += group {
					j := min(i+group, len(addrs))
					l.CheckMany(addrs[i:j], fams[i:j], got[i:j])
				}
				blocked := 0
				for i, a := range addrs {
					want, _ := b.CheckBytes(a, fams[i])
					if got[i] != want {
						t.Fatalf("%d rules, %s, groups of %d: CheckMany(%q, %q) = %v, CheckBytes %v", n, name, group, a, fams[i], got[i], want)
					}
					if want {
						blocked++
					}
				}
				if n > 0 && (blocked == 0 || blocked == len(addrs)) {
					t.Fatalf("%d rules: %d of %d addresses blocked: the test checks too little", n, blocked, len(addrs))
				}
			}
			l.CheckMany(nil, nil, nil) // no address: nothing to do, no panic
		}
	}
}

// mappedRules are IPv6 rules that block IPv4 addresses through
// ::ffff:0:0/96, and a range that starts there and ends outside it.
func mappedRules() []Rule {
	p := netip.MustParseAddr
	return []Rule{
		{Kind: AddressRule, Start: p("::ffff:198.51.100.7")},
		{Kind: SubnetRule, Start: p("::ffff:203.0.113.0"), Prefix: 120},
		{Kind: RangeRule, Start: p("::ffff:192.0.2.10"), End: p("::ffff:192.0.2.20")},
		{Kind: RangeRule, Start: p("::ffff:100.64.0.0"), End: p("::1:0:0:0")},
		{Kind: AddressRule, Start: p("192.0.2.200")},
		{Kind: AddressRule, Start: p("0.0.0.5")}, // not ::5, nor ::1:0:5
	}
}

// manyTestAddrs are addresses to check against rules, each with its
// family as block check gives it (by a ':') or another spelling.
func manyTestAddrs(rules []Rule, seed uint64) ([][]byte, []string) {
	r := rand.New(rand.NewPCG(seed, 9))
	fixed := []string{
		"198.51.100.7", "::ffff:198.51.100.7", "::ffff:c633:6407", "203.0.113.77", "::ffff:203.0.113.77",
		"192.0.2.15", "::ffff:192.0.2.15", "192.0.2.21", "100.64.0.1", "::ffff:100.64.0.1", "::1:0:0:0",
		"::ffff:192.0.2.200", "192.0.2.200", "::5", "::1:0:5", "::ffff:0.0.0.5", "0.0.0.5", "0.0.0.0", "255.255.255.255", "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		"", "1.2.3", "1.2.3.4.5", "zz", "::g", "1.2.3.4%eth0", "fe80::1%eth0", " 1.2.3.4", "01.2.3.4",
	}
	var addrs [][]byte
	var fams []string
	add := func(a string) {
		fam := IPv4
		for i := range len(a) {
			if a[i] == ':' {
				fam = IPv6
			}
		}
		switch r.IntN(8) {
		case 0:
			fam = ""
		case 1:
			fam = "IPv6"
		case 2:
			fam = "IPV4"
		case 3:
			fam = "ipx"
		}
		addrs, fams = append(addrs, []byte(a)), append(fams, fam)
	}
	for _, a := range fixed {
		add(a)
	}
	for range 3000 {
		var a netip.Addr
		switch {
		case len(rules) > 0 && r.IntN(2) == 0:
			a = rules[r.IntN(len(rules))].Start
		case r.IntN(100) < 60:
			a = addr4(r.Uint32())
		default:
			a = addr6(r.Uint64()&^(0xe000<<48)|0x2000<<48, r.Uint64())
		}
		s := a.String()
		if a.Is4() && r.IntN(10) == 0 {
			s = "::ffff:" + s
		}
		add(s)
	}
	return addrs, fams
}

// BenchmarkCheckMany checks 100,000 addresses, one at a time (CheckBytes)
// and in groups (CheckMany), as block check meets them: each round
// starts with the index out of the processor's caches (evicted off the
// clock), then read once, as loading it reads it.
func BenchmarkCheckMany(b *testing.B) {
	evict := make([]byte, 64<<20)
	for _, n := range []int{1000, 100000} {
		rules := benchRules(n, uint64(n))
		bl := New()
		for _, r := range rules {
			bl.Add(r) //nolint:errcheck // valid
		}
		x := &Index{bl.index()}
		var addrs [][]byte
		var fams []string
		for _, a := range benchAddrs(100000, rules) {
			addrs, fams = append(addrs, []byte(a)), append(fams, familyOfTest(a))
		}
		blocked := make([]bool, len(addrs))
		for _, how := range []string{"one", "many"} {
			b.Run(fmt.Sprint(n, "/", how), func(b *testing.B) {
				for b.Loop() {
					b.StopTimer()
					for i := range evict {
						evict[i]++
					}
					var s uint64
					for _, v := range x.x.v4 {
						s += v
					}
					for _, v := range x.x.v6 {
						s += v.end.lo
					}
					manySink += s
					b.StartTimer()
					if how == "one" {
						for i, a := range addrs {
							blocked[i], _ = x.CheckBytes(a, fams[i])
						}
						continue
					}
					for i := 0; i < len(addrs); i += 32 {
						j := min(i+32, len(addrs))
						x.CheckMany(addrs[i:j], fams[i:j], blocked[i:j])
					}
				}
			})
		}
	}
}
