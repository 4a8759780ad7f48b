package blocklist

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
)

// TestNodeDifferentialBatch adds thousands of rules to an empty list with
// AddBatch (what `block import` does, Node's address table built in bulk)
// and compares the listing with Node v26's after the same rules added one
// by one: addresses through many rehashes, some added again in either
// form, with subnets and ranges or without.
func TestNodeDifferentialBatch(t *testing.T) {
	var cases []nodeCase
	var batches []*Batch
	for i, n := range []int{300, 2500, 12000, 30000} {
		r := rand.New(rand.NewPCG(uint64(i), 99))
		rules := benchRules(n, uint64(500+i))
		if i%2 == 1 {
			// Addresses only.
			rules = slices.DeleteFunc(rules, func(r Rule) bool { return r.Kind != AddressRule })
		}
		var c nodeCase
		var bt Batch
		add := func(rule Rule) {
			f := IPv6
			if rule.Start.Is4() {
				f = IPv4
			}
			op := nodeOp{A: rule.Start.String(), F: f}
			switch rule.Kind {
			case AddressRule:
				op.Op = "addAddress"
			case SubnetRule:
				op.Op, op.Prefix = "addSubnet", rule.Prefix
			case RangeRule:
				op.Op, op.B = "addRange", rule.End.String()
			}
			c.Ops = append(c.Ops, op)
			if err := bt.ParseRule([]byte(rule.String()), ""); err != nil {
				t.Fatal(err)
			}
		}
		for j, rule := range rules {
			add(rule)
			if rule.Kind == AddressRule && r.IntN(6) == 0 {
				// An address added before, again, in either form.
				again := rules[r.IntN(j+1)]
				if again.Kind == AddressRule {
					if again.Start.Is4() && r.IntN(2) == 0 {
						again.Start = netip.AddrFrom16(again.Start.As16())
					}
					add(again)
				}
			}
		}
		cases = append(cases, c)
		batches = append(batches, &bt)
	}
	node := runNode(t, cases)
	for i := range cases {
		b := New()
		b.AddBatch(batches[i])
		if got, want := b.Rules(), node[i].Rules; !slices.Equal(got, want) {
			j := 0
			for j < min(len(got), len(want)) && got[j] == want[j] {
				j++
			}
			t.Errorf("case %d (%d ops): %d rules, node %d; first difference at %d", i, len(cases[i].Ops), len(got), len(want), j)
		}
		if got, want := b.Size(), node[i].Size; got != want {
			t.Errorf("case %d: size %d, node %d", i, got, want)
		}
		if got, want := string(Format(b)), string(FormatRules(node[i].Rules)); got != want {
			t.Errorf("case %d: the rule file is not Node's listing", i)
		}
	}
}
