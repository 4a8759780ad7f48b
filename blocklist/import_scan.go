package blocklist

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"runtime"
)

// An import that is a rule file of Node's rule strings, going into an
// empty list (a new rule file, or --replace), is written without
// formatting its rules again: a rule string as Node writes it (what
// export prints) is copied from the import into the rule file, and only
// the others are formatted. importRules holds such an import, read: for
// each rule, where its text is, when it is Node's; and what it blocks,
// when that is needed (an address, for Node's table; a rule whose text is
// not Node's, to format it).

// importRef is where a rule's text, between its quotes, is in the import:
// its offset times 128 plus its length (a rule string that the readers
// below take is at most 103 bytes long: a range of two IPv6 addresses of
// 45 characters; a longer one is formatted); or, with importFormat set,
// the rule's place in its part's formatted list.
type importRef uint32

// importFormat marks a rule to format.
const importFormat importRef = 1 << 31

// importMaxData is the largest import whose references fit in an
// importRef: offsets below 2^24.
const importMaxData = 1 << 24

// quoted returns the text with its quotes.
func (r importRef) quoted(data []byte) []byte {
	off := int(r >> 7)
	return data[off-1 : off+int(r&127)+1]
}

// importAddr is an address rule of an import: the address, and the
// text's place, 0 when it is to be formatted.
type importAddr struct {
	hi, lo uint64
	ref    importRef
	v4     bool
}

// importPart holds the rules of a part of an import, by kind, each in
// the import's order.
type importPart struct {
	addrs   []importAddr
	subnets []importRef
	ranges  []importRef
	other   []crule // subnets and ranges to format
}

func (p *importPart) len() int { return len(p.addrs) + len(p.subnets) + len(p.ranges) }

// importRules is an import read by readImport: its parts, in order, and
// its address rules sorted out.
type importRules struct {
	data  []byte
	parts []*importPart
	addrs *importAddresses
}

func (r *importRules) len() int {
	n := 0
	for _, p := range r.parts {
		n += p.len()
	}
	return n
}

// readImport reads data as Batch.ParseFile does, for an import that is
// written without formatting again what needs not be. It reads only
// what is plainly a rule file: a JSON array of rule strings that the
// fast readers take (Node's rule strings, without escapes or zones).
// Anything else, valid or not, it leaves to ParseFile, and returns nil.
func readImport(data []byte) *importRules {
	if len(data) >= importMaxData {
		return nil
	}
	r := &importRules{data: data}
	if len(data) >= parallelScanMin && runtime.GOMAXPROCS(0) > 1 {
		// The first part is the smaller: its address rules are sorted
		// out while the second part is read.
		mid := len(data) * importFirstPart / 100
		if j := bytes.Index(data[mid:], []byte(",\n")); j >= 0 {
			split := mid + j + 2
			first, second := newImportPart(split), newImportPart(len(data)-split)
			done := make(chan bool, 1)
			go func() { done <- second.read(data, split, len(data), false, true) }()
			ok := first.read(data, 0, split, true, false)
			if ok {
				// As many address rules in the rest, at that rate, and a
				// half more, so that the set of addresses need not grow.
				r.addrs = newImportAddresses(len(first.addrs) * len(data) / split * 3 / 2)
				r.addrs.add(first)
				// Node's table takes those while the rest is read.
				r.addrs.order.add(r.addrs.group)
			}
			if ok2 := <-done; !ok || !ok2 {
				return nil
			}
			r.addrs.add(second)
			r.parts = []*importPart{first, second}
			return r
		}
	}
	p := newImportPart(len(data))
	if !p.read(data, 0, len(data), true, true) {
		return nil
	}
	r.addrs = newImportAddresses(len(p.addrs))
	r.addrs.add(p)
	r.parts = []*importPart{p}
	return r
}

// newImportPart returns a part with room for the rules of n bytes of an
// import: as many of each kind as its shortest elements make in n bytes
// (`"Address: IPv4 0.0.0.0",` and so on), and no more than a rule file
// holds. Room that is not used is never touched.
func newImportPart(n int) *importPart {
	most := func(elem int) int { return min(n/elem, MaxFileSize/importRuleMin) + 1 }
	return &importPart{addrs: make([]importAddr, 0, most(24)), subnets: make([]importRef, 0, most(25)), ranges: make([]importRef, 0, most(30))}
}

// importFirstPart is the percentage of a large import in its first part.
const importFirstPart = 45

// read reads the elements of data[i:end], as scanElements does (open and
// close alike), and reports false when it cannot: a problem, or an element
// that neither fastRule nor quickRule reads.
func (p *importPart) read(data []byte, i, end int, open, close bool) bool {
	s := data[:end]
	if open {
		i = skipSpace(s, i)
		if i == len(s) || s[i] != '[' {
			return false
		}
		i++
	}
	var c crule
	for {
		for {
			j := skipSpace(s, i)
			n, next := fastElement(s, i, &c)
			if next == 0 {
				break
			}
			p.add(data, c, j+1, n-2)
			i = next
		}
		j := skipSpace(s, i)
		if j == len(s) {
			return !close && p.len() > 0 // a first part ends after a comma
		}
		if s[j] != '"' {
			return false
		}
		c, next, ok := quickRule(s, j+1)
		if !ok {
			return false
		}
		p.add(data, c, j+1, next-j-2)
		k := skipSpace(s, next)
		switch {
		case k == len(s):
			return false
		case s[k] == ']':
			return close && skipSpace(data, k+1) == len(data)
		case s[k] != ',':
			return false
		}
		i = k + 1
	}
}

// add records the rule c, whose text is data[off:off+n].
func (p *importPart) add(data []byte, c crule, off, n int) {
	ref := importRef(0)
	if n < 128 && nodeText(&c, data[off:off+n]) {
		ref = importRef(off)<<7 | importRef(n)
	}
	switch c.kind {
	case AddressRule:
		p.addrs = append(p.addrs, importAddr{hi: c.sh, lo: c.sl, ref: ref, v4: c.v4})
		return
	}
	if ref == 0 {
		ref = importFormat | importRef(len(p.other))
		p.other = append(p.other, c)
	}
	if c.kind == SubnetRule {
		p.subnets = append(p.subnets, ref)
	} else {
		p.ranges = append(p.ranges, ref)
	}
}

// nodeText reports whether text, which fastRule or quickRule read as c,
// is the rule string Node writes for c (appendString): its addresses
// written as Node writes them. The kind, the family, the separators and
// the prefix are, once those readers took them.
func nodeText(c *crule, text []byte) bool {
	t := text[len(rulePrefixes[c.kind][b2i(c.v4)]):]
	n := nodeAddress(t, c.sh, c.sl, c.v4)
	switch {
	case n < 0:
		return false
	case c.kind == AddressRule:
		return n == len(t)
	case c.kind == SubnetRule:
		// The address ends at the '/'.
		return n < len(t) && t[n] == '/'
	}
	// The start ends at the '-'.
	return n < len(t) && t[n] == '-' && nodeAddress(t[n+1:], c.eh, c.el, c.v4) == len(t)-n-1
}

// nodeAddress returns the length of the address hi:lo (IPv4 when v4 is
// set) as Node writes it (appendAddress) when t, which starts with an
// address the readers read as that one, starts with it written so; -1
// otherwise. An IPv4 address is: the readers refuse leading zeros.
func nodeAddress(t []byte, hi, lo uint64, v4 bool) int {
	if v4 {
		return ipv4Len(uint32(lo))
	}
	return nodeIPv6(t, hi, lo)
}

// ipv4Len is the length of v in dotted decimal.
func ipv4Len(v uint32) int {
	return 3 + int(decimalOctets[v>>24][0]+decimalOctets[v>>16&0xff][0]+decimalOctets[v>>8&0xff][0]+decimalOctets[v&0xff][0])
}

// nodeIPv6 is nodeAddress for an IPv6 address: lower-case hex, groups
// without leading zeros, "::" for the leftmost longest run of two or more
// zero groups, and the dotted tail where appendAddress writes one. t
// starting with an encoding of the address, that one is Node's exactly
// when it is in lower case, as long, with its "::" at the same place (or
// neither has one), and dotted or not alike: Node's writing is the
// shortest encoding of each group, and any other choice of groups to
// leave out, or of leading zeros, makes another length or moves the "::".
// (The caller checks that the address ends there.)
func nodeIPv6(t []byte, hi, lo uint64) int {
	// For each group, its hex digits from the highest that is not 0 down
	// (a bit each); the zero groups (bit i for group i), which are
	// written "0"; and the digits of all groups.
	nh, nl := groupDigits(hi), groupDigits(lo)
	zero := zeroGroups(nh) | zeroGroups(nl)<<4
	digits := bits.OnesCount64(nh) + bits.OnesCount64(nl) + bits.OnesCount8(uint8(zero))
	// The digits of the groups before group i.
	before := func(i int) int {
		d := bits.OnesCount8(uint8(zero) & (1<<i - 1))
		if i <= 4 {
			return d + bits.OnesCount64(nh&^(^uint64(0)>>(16*i)))
		}
		return d + bits.OnesCount64(nh) + bits.OnesCount64(nl&^(^uint64(0)>>(16*(i-4))))
	}
	// The length Node's text has, and where its "::" is.
	run := zeroRuns[zero]
	at, n := int(run.at), int(run.n)
	size, gap := 0, -1
	dotted := false
	switch {
	case n == 0:
		size = digits + 7
	case at == 0 && (n == 6 || n == 5 && uint16(lo>>32) == 0xffff):
		// "::" or "::ffff:", then the dotted address.
		dotted = true
		size, gap = 2+ipv4Len(uint32(lo)), 0
		if n == 5 {
			size += 5
		}
	default:
		// The groups on either side of "::", with ':' between them.
		left, right := at, 8-at-n
		size = digits - n + 2 + max(left-1, 0) + max(right-1, 0)
		gap = 0
		if left > 0 {
			gap = before(at) + left - 1
		}
	}
	if len(t) < size {
		return -1
	}
	// Where "::" is in t[:size], whether it is dotted, and no upper case:
	// eight bytes at a time, a bit for each byte. t is read past size
	// where its memory goes on (it is in the import), and those bytes
	// dropped.
	var colons, dots uint64
	full := t[:cap(t)]
	for i := 0; i < size; i += 8 {
		var w uint64
		if len(full)-i >= 8 {
			w = binary.LittleEndian.Uint64(full[i:])
		} else {
			var b [8]byte
			copy(b[:], full[i:])
			w = binary.LittleEndian.Uint64(b[:])
		}
		if rest := size - i; rest < 8 {
			w &= 1<<(8*rest) - 1
		}
		if upperHex(w) != 0 {
			return -1
		}
		colons |= laneBits(bytesOf(w, ':')) << i
		dots |= bytesOf(w, '.')
	}
	pairs := colons & (colons >> 1)
	found := -1
	if pairs != 0 {
		found = bits.TrailingZeros64(pairs)
	}
	if found != gap || (dots != 0) != dotted {
		return -1
	}
	return size
}

// groupDigits returns, for the four 16-bit groups of w, a bit at each hex
// digit from the group's highest that is not 0 down to its lowest: as
// many bits as the group has digits written without leading zeros, none
// for a zero group.
func groupDigits(w uint64) uint64 {
	// A bit at the bottom of each nibble that is not 0, then each
	// copied to the nibbles below it in its group.
	n := w | w>>1
	n = (n | n>>2) & 0x1111111111111111
	n |= n >> 4 & 0x0111011101110111
	n |= n >> 8 & 0x0011001100110011
	return n
}

// zeroGroups returns, from groupDigits, the groups that are 0: bit 0 for
// the highest, bit 3 for the lowest.
func zeroGroups(n uint64) uint {
	// A group that is not 0 has the bit at its bottom.
	z := ^n & 0x0001000100010001
	return uint(z>>48|z>>31|z>>14|z<<3) & 15
}

// bytesOf sets the high bit of each byte of w that is c, and no other.
func bytesOf(w uint64, c byte) uint64 {
	x := w ^ lanes*uint64(c)
	return ^((x&^highs + lanes*0x7f) | x) & highs
}

// upperHex sets the high bit of each byte of w that is 'A' to 'F' (w's
// bytes being ASCII), and no other.
func upperHex(w uint64) uint64 {
	return (w + lanes*(0x80-'A')) &^ (w + lanes*(0x80-'G')) & highs
}

// zeroRuns holds, for each set of zero groups of an IPv6 address (bit i
// for group i), the leftmost longest run of two or more, which Node
// writes as "::": where it starts and its length, 0 for none.
var zeroRuns = func() (t [256]struct{ at, n int8 }) {
	for m := range t {
		bestAt, bestLen := 0, 0
		for i := 0; i < 8; {
			if m>>i&1 == 0 {
				i++
				continue
			}
			j := i
			for j < 8 && m>>j&1 != 0 {
				j++
			}
			if j-i > bestLen {
				bestAt, bestLen = i, j-i
			}
			i = j
		}
		if bestLen >= 2 {
			t[m].at, t[m].n = int8(bestAt), int8(bestLen)
		}
	}
	return t
}()
