package blocklist

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// check verifies the table's links: every bucket's before-node, the last
// mark of each run, and the count.
func (t *addrTable) check(tb testing.TB) {
	tb.Helper()
	seen := map[int]bool{}
	n := 0
	prev := int32(beforeBegin)
	for p := t.head; p != noNode; p = t.nodes[p].next {
		n++
		b := t.bucketOf(p)
		if prev == beforeBegin || t.bucketOf(prev) != b {
			if seen[b] {
				tb.Fatalf("bucket %d has two runs", b)
			}
			seen[b] = true
			if t.buckets[b] != prev {
				tb.Fatalf("bucket %d: before-node %d, want %d", b, t.buckets[b], prev)
			}
		}
		next := t.nodes[p].next
		if last := next == noNode || t.bucketOf(next) != b; t.nodes[p].last != last {
			tb.Fatalf("node %d: last %v, want %v", p, t.nodes[p].last, last)
		}
		prev = p
	}
	if n != t.count {
		tb.Fatalf("%d nodes listed, count %d", n, t.count)
	}
	for b, before := range t.buckets {
		if before != noNode && !seen[b] {
			tb.Fatalf("bucket %d: before-node %d, and no run", b, before)
		}
	}
}

// TestTableLinks adds and erases keys at random, through rehashes, and
// checks the table's links after each step; and those of tables rebuilt
// from a listing.
func TestTableLinks(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	tab := newAddrTable()
	var keys []ip
	for i := range 3000 {
		if len(keys) > 0 && r.IntN(3) == 0 {
			j := r.IntN(len(keys))
			if !tab.erase(keys[j]) {
				t.Fatalf("step %d: %v not erased", i, keys[j])
			}
			keys = append(keys[:j], keys[j+1:]...)
		} else {
			k := ip{hi: 0x20010db8 << 32, lo: uint64(r.IntN(5000))}
			if r.IntN(2) == 0 {
				k = ipFrom4(uint32(r.IntN(5000)))
			}
			if tab.findBefore(k, keyHash(k)) == noNode {
				keys = append(keys, k)
			}
			tab.set(k, int32(i))
		}
		tab.check(t)
		if i%500 == 499 {
			tab.clear()
			tab.check(t)
			keys = keys[:0]
		}
	}
	// Tables laid out from a listing (placeTable), then changed.
	b := New()
	for _, r := range benchRules(20000, 5) {
		if r.Kind == AddressRule {
			b.Add(r) //nolint:errcheck // valid
		}
	}
	l, err := Parse(Format(b))
	if err != nil {
		t.Fatal(err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.unlist()
	lt := l.table()
	lt.check(t)
	for _, s := range lt.order(nil, len(l.vals))[:500] {
		first, _, _ := ruleKeys(l.vals[s])
		lt.erase(first)
		lt.check(t)
	}
}

// TestListedTwice reads a rule file that lists an address more than once,
// in either form (Node never writes one): the first listing is kept.
func TestListedTwice(t *testing.T) {
	var rules []string
	var want []string
	for i := range 3000 {
		a := fmt.Sprintf("10.0.%d.%d", i/200, i%200)
		rules = append(rules, "Address: IPv4 "+a)
		want = append(want, "Address: IPv4 "+a)
		if i%3 == 0 {
			rules = append(rules, "Address: IPv6 ::ffff:"+a)
		}
		if i%5 == 0 {
			rules = append(rules, fmt.Sprintf("Address: IPv4 10.0.%d.%d", i/400, i%200))
		}
	}
	rules = append(rules, "Address: IPv6 ::1", "Address: IPv6 ::1", "Subnet: IPv4 10.0.0.0/8")
	want = append(want, "Address: IPv6 ::1", "Subnet: IPv4 10.0.0.0/8")
	b, err := Parse(FormatRules(rules))
	if err != nil {
		t.Fatal(err)
	}
	if got := b.Rules(); !slices.Equal(got, want) {
		t.Fatalf("%d rules listed, want %d", len(got), len(want))
	}
	if b.Size() != len(want) {
		t.Fatalf("size %d, want %d", b.Size(), len(want))
	}
}
