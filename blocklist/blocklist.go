// Package blocklist is Node.js's net.BlockList in Go, with current Node's
// (v26) semantics and rule strings, a Check that is logarithmic in the
// number of rules, and the rule file that `nodenet block` keeps.
//
// Rules are added as in Node: AddAddress, AddRange and AddSubnet take an
// address string and a family ("ipv4" or "ipv6", any case; "" is Node's
// default, "ipv4"), and fail with Node's error codes (see Error).
// Addresses are read as Node's BlockList reads them (libuv's inet_pton),
// which differs from net.isIP: a zone ("fe80::1%eth0") is accepted and
// ignored, leading zeros in IPv4 octets and surrounding spaces are not.
//
// IPv4 and IPv6 meet only through IPv4-mapped addresses (::ffff:0:0/96),
// in both directions: a rule for 10.0.0.1 blocks ::ffff:10.0.0.1 and a rule
// for ::ffff:10.0.0.1 blocks 10.0.0.1; an IPv6 subnet such as ::/0 blocks
// every IPv4 address; an IPv6 range blocks IPv4 addresses only when both
// its ends are mapped.
//
// Rules lists the rules as Node's blockList.rules does: address rules first
// (one per address, in the form added last, in the order of Node's hash
// table), then subnets newest first, then ranges newest first.
package blocklist

import (
	"encoding/binary"
	"encoding/json"
	"math/bits"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
)

// BlockList is a set of rules, as Node's net.BlockList.
//
// A BlockList is safe for concurrent use. Check and CheckAddr take no lock
// once the rules have been indexed: the first check after rules are added
// builds the index (under the lock); every later check only searches it, so
// a server's accept loops can check every connection from any number of
// goroutines. Adding rules makes the next check rebuild the index, merging
// in only the new rules; removing rules rebuilds it from all of them.
type BlockList struct {
	mu sync.Mutex

	// Address rules. vals holds each rule's address in the form added
	// last, by slot. The listing order is in tab, the replica of Node's
	// hash table, once a rule has been added or removed; a list read from
	// a listing (a rule file) keeps that listing in order instead, until
	// it changes.
	vals       []ip
	order      []int32
	tab        *addrTable
	naddr      int
	listedDups bool // order may hold the same address twice (a listing read from a file)

	subnets []crule // oldest first
	ranges  []crule // oldest first

	// listed is a rule file, read and indexed, whose rules are sorted out
	// into the fields above only when something needs them (unlist):
	// checking never does.
	listed []byte

	pending spans // intervals of rules added since built
	full    bool  // rules were removed: rebuild the index from all rules
	built   *index
	idx     atomic.Pointer[index] // built, or nil when it is out of date
}

// New returns an empty BlockList.
func New() *BlockList { return &BlockList{} }

// AddAddress adds a rule that blocks one address (Node's addAddress).
// Adding an address again, in either of its forms (1.2.3.4 and
// ::ffff:1.2.3.4 are one address), keeps one rule, in the form given last.
func (b *BlockList) AddAddress(address, family string) error {
	v4, ok := familyOf(family)
	if !ok {
		return errFamily(family)
	}
	a, ok := parseAddress(address, v4)
	if !ok {
		return errInvalidAddress()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.add(newRule(AddressRule, a, ip{}, 0))
	return nil
}

// AddRange adds a rule that blocks the addresses from start to end,
// inclusive (Node's addRange). start must not come after end
// (ERR_INVALID_ARG_VALUE).
func (b *BlockList) AddRange(start, end, family string) error {
	v4, ok := familyOf(family)
	if !ok {
		return errFamily(family)
	}
	s, ok := parseAddress(start, v4)
	if !ok {
		return errInvalidAddress()
	}
	e, ok := parseAddress(end, v4)
	if !ok {
		return errInvalidAddress()
	}
	if s.cmp(e) > 0 {
		return errRangeOrder(s)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.add(newRule(RangeRule, s, e, 0))
	return nil
}

// AddSubnet adds a rule that blocks the addresses whose first prefix bits
// are network's (Node's addSubnet). prefix is 0 to 32 for IPv4, 0 to 128
// for IPv6 (ERR_OUT_OF_RANGE). The rule keeps network as given, host bits
// included: Node lists "Subnet: IPv4 192.168.1.7/24".
func (b *BlockList) AddSubnet(network string, prefix int, family string) error {
	v4, ok := familyOf(family)
	if !ok {
		return errFamily(family)
	}
	n, ok := parseAddress(network, v4)
	if !ok {
		return errInvalidAddress()
	}
	if prefix < 0 || prefix > maxPrefix(v4) {
		return errPrefix(v4, int64(prefix))
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.add(newRule(SubnetRule, n, ip{}, uint8(prefix)))
	return nil
}

// Add adds a rule, as AddAddress, AddRange or AddSubnet would.
func (b *BlockList) Add(r Rule) error {
	c, err := compile(r)
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.add(c)
	return nil
}

// add adds a valid rule; b.mu is held.
func (b *BlockList) add(c crule) {
	b.unlist()
	b.addRule(c)
	if !b.full {
		b.pending.add(c)
	}
	b.idx.Store(nil)
}

// addRule adds a valid rule to the rules, not to the index; b.mu is held
// and b is unlisted.
func (b *BlockList) addRule(c crule) {
	switch c.kind {
	case AddressRule:
		t := b.table()
		first, second, two := ruleKeys(c.start())
		// As t.set(first, slot) then t.set(second, slot), with one
		// lookup: a rule's keys are in the table together or not at all,
		// both mapped to its slot (they are added and erased together).
		h := keyHash(first)
		if prev := t.findBefore(first, h); prev != noNode {
			b.vals[t.nodes[t.nextOf(prev)].slot] = c.start()
			return
		}
		slot := int32(len(b.vals))
		b.vals = append(b.vals, c.start())
		b.naddr++
		t.insert(first, h, slot)
		if two {
			t.insert(second, keyHash(second), slot)
		}
	case RangeRule:
		b.ranges = append(b.ranges, c)
	case SubnetRule:
		b.subnets = append(b.subnets, c)
	}
}

// table returns the replica of Node's address table, building it from the
// listing the rules were read from if need be; b.mu is held.
func (b *BlockList) table() *addrTable {
	if b.tab == nil {
		b.dedupListed()
		b.tab = rebuildTable(b.vals, b.order)
		b.order = nil
	}
	return b.tab
}

// dedupListed drops from a listing read from a file any address listed
// twice (which Node never writes), keeping the first; b.mu is held.
func (b *BlockList) dedupListed() {
	if !b.listedDups {
		return
	}
	b.listedDups = false
	// A set of the addresses met, by slot: open addressing in a power of
	// two of slots, at most half full.
	size := 1 << bits.Len(uint(2*len(b.order)))
	seen := make([]int32, size)
	for i := range seen {
		seen[i] = -1
	}
	mask := uint64(size - 1)
	kept := b.order[:0]
	for _, s := range b.order {
		v := b.vals[s]
		h := keyHash(ip{hi: v.hi, lo: v.lo}) // either form: one address
		for i := h & mask; ; i = (i + 1) & mask {
			if t := seen[i]; t < 0 {
				seen[i] = s
				kept = append(kept, s)
				break
			} else if w := b.vals[t]; w.hi == v.hi && w.lo == v.lo {
				break
			}
		}
	}
	b.order = kept
	b.naddr = len(kept)
}

// Remove removes a rule and reports whether there was one to remove, as
// Node's removeAddress, removeRange and removeSubnet do: an address rule in
// either form; for a range or a subnet, the newest rule with exactly that
// family, start and end, or network (host bits included) and prefix.
func (b *BlockList) Remove(r Rule) bool {
	c, err := compile(r)
	if err != nil {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.remove(c)
}

func (b *BlockList) remove(c crule) bool {
	b.unlist()
	switch c.kind {
	case AddressRule:
		t := b.table()
		first, second, two := ruleKeys(c.start())
		if !t.erase(first) {
			return false
		}
		if two {
			t.erase(second)
		}
		b.naddr--
	case RangeRule, SubnetRule:
		list := &b.ranges
		if c.kind == SubnetRule {
			list = &b.subnets
		}
		i := len(*list) - 1
		for i >= 0 && (*list)[i] != c {
			i--
		}
		if i < 0 {
			return false
		}
		*list = slices.Delete(*list, i, i+1)
	}
	b.full = true
	b.pending.reset()
	b.idx.Store(nil)
	return true
}

// RemoveAddress removes the rule for an address, in either form (Node's
// removeAddress). It does nothing when there is none.
func (b *BlockList) RemoveAddress(address, family string) error {
	v4, ok := familyOf(family)
	if !ok {
		return errFamily(family)
	}
	a, ok := parseAddress(address, v4)
	if !ok {
		return errInvalidAddress()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.remove(newRule(AddressRule, a, ip{}, 0))
	return nil
}

// Clear removes every rule (Node's clear).
func (b *BlockList) Clear() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.unlist()
	b.table().clear()
	b.vals, b.naddr = b.vals[:0], 0
	b.subnets, b.ranges = nil, nil
	b.full = true
	b.pending.reset()
	b.idx.Store(nil)
}

// Reset removes every rule and leaves b as New returns it: unlike Clear,
// which keeps the size Node's address table had grown to (and so where
// addresses added next are listed), it is a new BlockList in Node's terms.
func (b *BlockList) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.vals, b.order, b.tab, b.naddr, b.listedDups = nil, nil, nil, 0, false
	b.subnets, b.ranges, b.listed = nil, nil, nil
	b.full = true
	b.pending.reset()
	b.idx.Store(nil)
}

// Size returns the number of rules (Node's size).
func (b *BlockList) Size() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.unlist()
	b.dedupListed()
	return b.naddr + len(b.subnets) + len(b.ranges)
}

// Check reports whether address is blocked (Node's check). family is
// "ipv4" (any case, or "" for Node's default) or else read as IPv6, as Node
// does. An address that cannot be read is not blocked: Node returns false,
// and so does Check, with an ERR_INVALID_ADDRESS error saying why.
func (b *BlockList) Check(address, family string) (bool, error) {
	return checkIn(b.index(), address, family)
}

// CheckBytes is Check for an address held in a byte slice (a line of
// input), without copying it.
func (b *BlockList) CheckBytes(address []byte, family string) (bool, error) {
	return checkIn(b.index(), address, family)
}

// checkIn reads an address as Check does (an unknown family reads it as
// IPv6) and looks it up in x.
func checkIn[T text](x *index, address T, family string) (bool, error) {
	v4, ok := familyOf(family)
	if !ok {
		v4 = false
	}
	a, ok := parseAddress(address, v4)
	if !ok {
		return false, errInvalidAddress()
	}
	return x.has(a), nil
}

// CheckAddr reports whether an address is blocked. An Is4 address is
// checked as IPv4, any other as IPv6 (so ::ffff:10.0.0.1, the form a
// dual-stack listener reports IPv4 peers in, is blocked by IPv4 rules for
// 10.0.0.1, as in Node). The zone is ignored. It does not allocate.
func (b *BlockList) CheckAddr(a netip.Addr) bool { return b.index().hasAddr(a) }

// hasAddr looks a net/netip address up: an Is4 address as IPv4, any
// other as IPv6.
func (x *index) hasAddr(a netip.Addr) bool {
	switch {
	case a.Is4():
		v := a.As4()
		return x.has4(binary.BigEndian.Uint32(v[:]))
	case a.Is6():
		v := a.As16()
		return x.has6(u128{binary.BigEndian.Uint64(v[:8]), binary.BigEndian.Uint64(v[8:])})
	}
	return false
}

// has looks an address up in its family.
func (x *index) has(a ip) bool {
	if a.v4 {
		return x.has4(a.v4value())
	}
	return x.has6(u128{a.hi, a.lo})
}

// index returns the current index, building it if rules changed.
func (b *BlockList) index() *index {
	if x := b.idx.Load(); x != nil {
		return x
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.indexLocked()
}

func (b *BlockList) indexLocked() *index {
	if x := b.idx.Load(); x != nil {
		return x
	}
	if b.full {
		b.unlist()
		b.pending.reset()
		b.built = nil
		for _, s := range b.addressOrder() {
			b.pending.add(newRule(AddressRule, b.vals[s], ip{}, 0))
		}
		for _, c := range b.subnets {
			b.pending.add(c)
		}
		for _, c := range b.ranges {
			b.pending.add(c)
		}
		b.full = false
	}
	x := buildIndex(b.built, &b.pending)
	b.built = x
	b.pending = spans{}
	b.idx.Store(x)
	return x
}

// addressOrder returns the address rules' slots in listing order; b.mu is
// held.
func (b *BlockList) addressOrder() []int32 {
	b.unlist()
	if b.tab != nil {
		return b.tab.order(nil, len(b.vals))
	}
	b.dedupListed()
	return b.order
}

// Rules returns the rules as Node's blockList.rules does: address rules,
// then subnets newest first, then ranges newest first.
func (b *BlockList) Rules() []string {
	out := make([]string, 0, b.Size())
	b.eachRule(func(rule []byte) { out = append(out, string(rule)) })
	return out
}

// eachRule calls f with each rule string, in Rules' order; the bytes are
// f's only for the call.
func (b *BlockList) eachRule(f func(rule []byte)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	order := b.addressOrder() // unlists
	var buf []byte
	for _, s := range order {
		buf = newRule(AddressRule, b.vals[s], ip{}, 0).appendString(buf[:0])
		f(buf)
	}
	for _, list := range [][]crule{b.subnets, b.ranges} {
		for _, c := range slices.Backward(list) {
			buf = c.appendString(buf[:0])
			f(buf)
		}
	}
}

// ToJSON returns the rules, as Node's toJSON does (the same as Rules).
func (b *BlockList) ToJSON() []string { return b.Rules() }

// MarshalJSON encodes the rules as a JSON array of rule strings, what
// JSON.stringify(blockList) gives in Node.
func (b *BlockList) MarshalJSON() ([]byte, error) { return json.Marshal(b.Rules()) }

// RemoveRange removes the newest range rule from start to end in that
// family (Node's removeRange). It does nothing when there is none.
func (b *BlockList) RemoveRange(start, end, family string) error {
	v4, ok := familyOf(family)
	if !ok {
		return errFamily(family)
	}
	s, ok := parseAddress(start, v4)
	if !ok {
		return errInvalidAddress()
	}
	e, ok := parseAddress(end, v4)
	if !ok {
		return errInvalidAddress()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.remove(newRule(RangeRule, s, e, 0))
	return nil
}

// RemoveSubnet removes the newest subnet rule with exactly that network
// (host bits included) and prefix (Node's removeSubnet). It does nothing
// when there is none.
func (b *BlockList) RemoveSubnet(network string, prefix int, family string) error {
	v4, ok := familyOf(family)
	if !ok {
		return errFamily(family)
	}
	n, ok := parseAddress(network, v4)
	if !ok {
		return errInvalidAddress()
	}
	if prefix < 0 || prefix > maxPrefix(v4) {
		return errPrefix(v4, int64(prefix))
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.remove(newRule(SubnetRule, n, ip{}, uint8(prefix)))
	return nil
}
