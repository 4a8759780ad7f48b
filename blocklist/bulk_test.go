package blocklist

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"slices"
	"testing"
)

// clone returns a copy of the table that shares no memory with it.
func (t *addrTable) clone() *addrTable {
	c := *t
	c.nodes = slices.Clone(t.nodes)
	c.buckets = slices.Clone(t.buckets)
	return &c
}

// listing returns the table's nodes in list order, links aside.
func (t *addrTable) listing() []tnode {
	var out []tnode
	for p := t.head; p != noNode; p = t.nodes[p].next {
		n := t.nodes[p]
		n.next = 0
		out = append(out, n)
	}
	return out
}

// sameTable fails unless two tables list the same nodes in the same
// order, with the same bucket count and growth point.
func sameTable(tb testing.TB, what string, got, want *addrTable) {
	tb.Helper()
	got.check(tb)
	want.check(tb)
	if len(got.buckets) != len(want.buckets) || got.nextResize != want.nextResize || got.count != want.count {
		tb.Fatalf("%s: buckets %d, next resize %d, count %d; want %d, %d, %d", what,
			len(got.buckets), got.nextResize, got.count, len(want.buckets), want.nextResize, want.count)
	}
	g, w := got.listing(), want.listing()
	if !slices.Equal(g, w) {
		for i := range min(len(g), len(w)) {
			if g[i] != w[i] {
				tb.Fatalf("%s: node %d of the list is %+v, want %+v", what, i, g[i], w[i])
			}
		}
		tb.Fatalf("%s: %d nodes listed, want %d", what, len(g), len(w))
	}
}

// randomKey is an IPv4 key (from a small space, so that keys meet), an
// IPv4-mapped one or an IPv6 one.
func randomKey(r *rand.Rand, space int) ip {
	switch r.IntN(3) {
	case 0:
		return ipFrom4(uint32(r.IntN(space)))
	case 1:
		k := ipFrom4(uint32(r.IntN(space)))
		k.v4 = false
		return k
	}
	return ip{hi: 0x20010db8 << 32, lo: uint64(r.IntN(space))}
}

// TestInsertAll checks the bulk build against adding the keys one at a
// time, node for node: into empty tables, tables that grew and lost keys,
// cleared tables (which keep their bucket count) and tables laid out from
// a listing; with groups that cross any number of rehashes, or none; and
// the tables stay the same through changes after.
func TestInsertAll(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 9))
	for round := range 120 {
		tab := newAddrTable()
		present := map[ip]bool{}
		var keys []ip
		// The table before: a few keys added and erased at random.
		before := []int{0, 0, 5, 13, 14, 100, 300, 1000, 5000}[round%9]
		for i := range before {
			k := randomKey(r, 1<<20)
			if present[k] {
				continue
			}
			present[k] = true
			keys = append(keys, k)
			tab.insert(k, keyHash(k), int32(i))
			if r.IntN(4) == 0 {
				j := r.IntN(len(keys))
				tab.erase(keys[j])
				delete(present, keys[j])
				keys = slices.Delete(keys, j, j+1)
			}
		}
		switch round % 4 {
		case 1:
			tab.clear()
			clear(present)
		case 2:
			// Laid out from a listing, as read from a rule file.
			seen := map[[2]uint64]bool{}
			var vals []ip
			for len(vals) < before {
				k := randomKey(r, 1<<20)
				if !seen[[2]uint64{k.hi, k.lo}] {
					seen[[2]uint64{k.hi, k.lo}] = true
					vals = append(vals, k)
				}
			}
			order := make([]int32, len(vals))
			for i, j := range r.Perm(len(vals)) {
				order[i] = int32(j)
			}
			tab = rebuildTable(vals, order)
			clear(present)
			for _, n := range tab.listing() {
				present[ip{hi: n.hi, lo: n.lo, v4: n.v4}] = true
			}
		}
		// The group: new keys, none alike.
		n := []int{bulkMin, bulkMin + 1, 500, 1000, 1109, 2357, 4000, 12000, 30000}[r.IntN(9)]
		n = max(n, tab.count)
		// vals holds each node's address by slot: one slot per key here.
		vals := make([]ip, 0, before+n)
		for range before {
			vals = append(vals, ip{})
		}
		for _, n := range tab.listing() {
			vals[n.slot] = ip{hi: n.hi, lo: n.lo, v4: n.v4}
		}
		var group []ip
		var entries []bulkEntry
		for len(group) < n {
			k := randomKey(r, 1<<24)
			if present[k] {
				continue
			}
			present[k] = true
			group = append(group, k)
			entries = append(entries, bulkKey(k, int32(len(vals))))
			vals = append(vals, k)
		}
		want := tab.clone()
		for _, e := range entries {
			want.insert(vals[e.slot], e.h, e.slot)
		}
		got := tab.clone()
		got.insertAll(entries, vals)
		what := fmt.Sprintf("round %d (%d keys before, %d added)", round, tab.count, n)
		sameTable(t, what, got, want)
		// Then both change alike.
		for i := range 300 {
			k := randomKey(r, 1<<24)
			if r.IntN(3) == 0 && len(group) > 0 {
				k = group[r.IntN(len(group))]
				if got.erase(k) != want.erase(k) {
					t.Fatalf("%s: erase %d differs", what, i)
				}
				continue
			}
			got.set(k, int32(i))
			want.set(k, int32(i))
		}
		sameTable(t, what+", then changed", got, want)
	}
}

// TestAddBatchAsAdd checks that a batch adds rules as Add adds them one at
// a time: the same listing and the same rule file, with addresses added
// twice in either form, into empty lists and lists read from a file
// (with fewer rules than the batch, or more: then the index is kept
// up to date rule by rule), on two cores or one.
func TestAddBatchAsAdd(t *testing.T) {
	for _, procs := range []int{0, 1} {
		t.Run(fmt.Sprintf("procs=%d", procs), func(t *testing.T) {
			if procs > 0 {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			}
			testAddBatchAsAdd(t)
		})
	}
}

func testAddBatchAsAdd(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for round := range 36 {
		n := []int{100, 2000, 20000}[round%3]
		var bt Batch
		var rules []Rule
		for _, rule := range benchRules(n, uint64(round)) {
			rules = append(rules, rule)
			if rule.Kind == AddressRule && r.IntN(8) == 0 {
				// The same address again, maybe in its other form.
				again := rule
				if a := rule.Start; a.Is4() && r.IntN(2) == 0 {
					again.Start = netipMapped(a)
				}
				rules = append(rules, again)
			}
		}
		for _, rule := range rules {
			if err := bt.ParseRule([]byte(rule.String()), ""); err != nil {
				t.Fatal(err)
			}
		}
		base := func() *BlockList {
			b := New()
			if round/3%3 != 0 {
				// Some of the same rules, read from a rule file; and,
				// one time in two, more rules than the batch.
				old := New()
				for _, rule := range rules[:len(rules)/3] {
					old.Add(rule) //nolint:errcheck // valid
				}
				if round/3%3 == 2 {
					for _, rule := range benchRules(3*len(rules), uint64(1000+round)) {
						old.Add(rule) //nolint:errcheck // valid
					}
				}
				var err error
				if b, err = Parse(Format(old)); err != nil {
					t.Fatal(err)
				}
			}
			return b
		}
		want := base()
		for _, rule := range rules {
			if err := want.Add(rule); err != nil {
				t.Fatal(err)
			}
		}
		got := base()
		got.AddBatch(&bt)
		if g, w := Format(got), Format(want); string(g) != string(w) {
			t.Fatalf("round %d: rule files differ (%d and %d bytes)", round, len(g), len(w))
		}
		if got.Size() != want.Size() {
			t.Fatalf("round %d: size %d, want %d", round, got.Size(), want.Size())
		}
		got.mu.Lock()
		got.tab.check(t)
		got.mu.Unlock()
		// And they check alike.
		for _, a := range benchAddrs(200, rules) {
			g, _ := got.Check(a, "ipv6")
			w, _ := want.Check(a, "ipv6")
			if g != w {
				t.Fatalf("round %d: check %s: %v, want %v", round, a, g, w)
			}
		}
	}
}

// netipMapped is a's IPv4-mapped IPv6 form.
func netipMapped(a netip.Addr) netip.Addr { return netip.AddrFrom16(a.As16()) }

// tableKeys are the keys and slots of the address rules of n benchRules,
// none alike, as AddBatch hands them to the table.
func tableKeys(n int) (keys []bulkEntry, vals []ip) {
	seen := map[[2]uint64]bool{}
	for _, r := range benchRules(n, uint64(n)) {
		if r.Kind != AddressRule {
			continue
		}
		c, err := compile(r)
		if err != nil {
			panic(err)
		}
		v := c.start()
		if seen[[2]uint64{v.hi, v.lo}] {
			continue
		}
		seen[[2]uint64{v.hi, v.lo}] = true
		first, second, two := ruleKeys(v)
		keys = append(keys, bulkKey(first, int32(len(vals))))
		if two {
			keys = append(keys, bulkKey(second, int32(len(vals))))
		}
		vals = append(vals, v)
	}
	return keys, vals
}

// BenchmarkTableInsert adds the address keys of 100,000 benchRules to an
// empty table: one at a time, and in bulk.
func BenchmarkTableInsert(b *testing.B) {
	keys, vals := tableKeys(100000)
	b.Run("each", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			t := newAddrTable()
			for _, e := range keys {
				v := vals[e.slot]
				t.insert(ip{hi: v.hi, lo: v.lo, v4: e.v4}, e.h, e.slot)
			}
		}
	})
	b.Run("bulk", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			newAddrTable().insertAll(keys, vals)
		}
	})
}

// TestChangesAfterBatch changes a list right after a large batch, whose
// rules AddBatch formats on another core for the rule file: every change
// (add, remove, clear, reset, another batch) shows in the file written
// next, as it does in a list built one rule at a time.
func TestChangesAfterBatch(t *testing.T) {
	rules := benchRules(6000, 17)
	var bt Batch
	for _, r := range rules {
		if err := bt.ParseRule([]byte(r.String()), ""); err != nil {
			t.Fatal(err)
		}
	}
	changes := []struct {
		name string
		do   func(b *BlockList)
	}{
		{"nothing", func(*BlockList) {}},
		{"add an address", func(b *BlockList) { b.AddAddress("1.2.3.4", IPv4) }},  //nolint:errcheck // valid
		{"add a subnet", func(b *BlockList) { b.AddSubnet("10.0.0.0", 8, IPv4) }}, //nolint:errcheck // valid
		{"add a range", func(b *BlockList) { b.AddRange("::1", "::9", IPv6) }},    //nolint:errcheck // valid
		{"re-add an address in its other form", func(b *BlockList) {
			for _, r := range rules {
				if r.Kind == AddressRule && r.Start.Is4() {
					b.AddAddress("::ffff:"+r.Start.String(), IPv6) //nolint:errcheck // valid
					return
				}
			}
		}},
		{"remove a rule of each kind", func(b *BlockList) {
			for _, k := range []RuleKind{AddressRule, SubnetRule, RangeRule} {
				for _, r := range rules {
					if r.Kind == k {
						b.Remove(r)
						break
					}
				}
			}
		}},
		{"clear", func(b *BlockList) { b.Clear(); b.AddAddress("1.2.3.4", IPv4) }}, //nolint:errcheck // valid
		{"reset", func(b *BlockList) { b.Reset(); b.AddAddress("1.2.3.4", IPv4) }}, //nolint:errcheck // valid
		{"another batch", func(b *BlockList) { b.AddBatch(&bt) }},
	}
	for _, c := range changes {
		want := New()
		for _, r := range rules {
			want.Add(r) //nolint:errcheck // valid
		}
		got := New()
		got.AddBatch(&bt)
		c.do(got)
		c.do(want)
		if g, w := Format(got), Format(want); string(g) != string(w) {
			t.Errorf("%s: rule files differ (%d and %d bytes)", c.name, len(g), len(w))
		}
		// And once more, from the same text.
		if g, w := Format(got), Format(want); string(g) != string(w) {
			t.Errorf("%s, formatted again: rule files differ", c.name)
		}
	}
}

// TestRecycle gives a batch memory to reuse, too little or plenty, full of
// old bytes: the rule file is the same (the addresses are many enough for
// formatTo to format them on two cores, the second one in the memory
// left).
func TestRecycle(t *testing.T) {
	rules := benchRules(60000, 23)
	want := New()
	for _, r := range rules {
		want.Add(r) //nolint:errcheck // valid
	}
	for _, n := range []int{0, 10, 100000, 1 << 20, 3 << 20, 8 << 20} {
		var bt Batch
		for _, r := range rules {
			if err := bt.ParseRule([]byte(r.String()), ""); err != nil {
				t.Fatal(err)
			}
		}
		spare := make([]byte, n)
		for i := range spare {
			spare[i] = 'x'
		}
		bt.Recycle(spare)
		got := New()
		got.AddBatch(&bt)
		if g, w := Format(got), Format(want); string(g) != string(w) {
			t.Errorf("%d bytes to reuse: rule files differ (%d and %d bytes)", n, len(g), len(w))
		}
	}
}

// BenchmarkPreformat formats the subnets and ranges of 100,000
// benchRules as AddBatch does on its second core, straight from the
// batch.
func BenchmarkPreformat(b *testing.B) {
	bt := importBatch(b, 100000)
	spare := make([]byte, 8<<20)
	for b.Loop() {
		var pf preformat
		pf.formatTail(bt, nil, nil, spare)
	}
}

// TestRecycleParsedFile reads a rule file into a batch and gives the
// batch the file's memory, as `block import` does: the rules must hold
// nothing of it, as the rule file written from them shows.
func TestRecycleParsedFile(t *testing.T) {
	file := benchFile(t, 60000)
	read := func(recycle bool) []byte {
		data := slices.Clone(file)
		var bt Batch
		if _, err := bt.ParseFile(data); err != nil {
			t.Fatal(err)
		}
		if recycle {
			bt.Recycle(data)
		}
		b := New()
		b.AddBatch(&bt)
		out := Format(b)
		if recycle && string(data[:8]) == string(file[:8]) {
			t.Fatal("the file's memory was not reused")
		}
		return out
	}
	if got, want := read(true), read(false); string(got) != string(want) {
		t.Fatalf("a batch given the memory of the file it was read from writes another rule file (%d and %d bytes)", len(got), len(want))
	}
}

// FuzzAddBatch adds rules made from the input (addresses from a small
// space, so that they meet again in either form, subnets and ranges) with
// AddBatch and one by one with Add, into an empty list or one read from a
// rule file, and compares the rule files.
func FuzzAddBatch(f *testing.F) {
	f.Add([]byte{0}, uint16(300))
	f.Add([]byte("\x01\x02\x03"), uint16(1100))
	f.Add([]byte("addresses in both forms"), uint16(5000))
	f.Fuzz(func(t *testing.T, data []byte, count uint16) {
		var seed uint64
		for _, c := range data {
			seed = seed*131 + uint64(c)
		}
		r := rand.New(rand.NewPCG(seed, uint64(len(data))))
		space := 1 + r.IntN(1<<14)
		n := int(count) % 6000
		rules := make([]Rule, 0, n)
		for range n {
			a := addr4(uint32(r.IntN(space)))
			switch r.IntN(4) {
			case 0:
				a = netipMapped(a)
			case 1:
				a = addr6(0x20010db8<<32, uint64(r.IntN(space)))
			}
			rule := Rule{Kind: AddressRule, Start: a}
			switch r.IntN(6) {
			case 0:
				rule.Kind, rule.Prefix = SubnetRule, r.IntN(a.BitLen()+1)
			case 1:
				rule.Kind, rule.End = RangeRule, a
			}
			rules = append(rules, rule)
		}
		base := r.IntN(3) // no list, a list read from a file, a larger one
		list := func() *BlockList {
			b := New()
			if base > 0 {
				old := New()
				for _, rule := range rules[:len(rules)*base/3] {
					old.Add(rule) //nolint:errcheck // valid
				}
				var err error
				if b, err = Parse(Format(old)); err != nil {
					t.Fatal(err)
				}
			}
			return b
		}
		var bt Batch
		want := list()
		for _, rule := range rules {
			if err := bt.ParseRule([]byte(rule.String()), ""); err != nil {
				t.Fatal(err)
			}
			if err := want.Add(rule); err != nil {
				t.Fatal(err)
			}
		}
		got := list()
		got.AddBatch(&bt)
		if g, w := Format(got), Format(want); string(g) != string(w) {
			t.Fatalf("%d rules: AddBatch and Add write different rule files", n)
		}
	})
}
