package blocklist

import (
	"encoding/binary"
	"math/bits"
)

// fastRule is quickRule for a rule string that is not near the end of the
// data, and reads the same rules the same way: it stores the rule in *c
// and returns the offset after the closing quote, or 0 when quickRule
// would not read it. It finds the kind from a table rather than by
// comparisons, and reads IPv4 addresses and prefixes without a loop over
// their digits (each octet's length is found for all four at once, eight
// bytes at a time), so that neither costs a mispredicted branch when
// rules of each kind and octets of each length come in random order;
// IPv6 addresses are read the same way, when they are of the common
// forms fastIPv6 knows.
//
// s must hold at least fastMargin bytes from i: fastRule loads words
// there without checking for the end (a rule string quickRule reads is at
// most 104 bytes long, quotes included).
func fastRule(s []byte, i int, c *crule) (next int) {
	_ = s[i+fastMargin-1] // the caller's promise
	// The kind, from the first byte, without a branch on it: Node's rule
	// strings start with one of three heads, which all end in " IPv".
	h := &ruleHeads[s[i]]
	if h.n == 0 || binary.LittleEndian.Uint64(s[i:]) != h.word || binary.LittleEndian.Uint32(s[i+h.n-4:]) != wordSpaceIPv {
		return 0
	}
	kind := h.kind
	i += h.n
	// "4 " or "6 "
	var v4 bool
	switch binary.LittleEndian.Uint16(s[i:]) {
	case '4' | ' '<<8:
		v4 = true
	case '6' | ' '<<8:
	default:
		return 0
	}
	i += 2
	var start, end ip
	if v4 {
		a, j, ok := fastIPv4(s, i)
		if !ok {
			return 0
		}
		start, i = ipFrom4(a), j
	} else {
		hi, lo, j, ok := fastIPv6(s, i)
		if !ok {
			return 0
		}
		start, i = ip{hi: hi, lo: lo}, j
	}
	var prefix uint8
	switch kind {
	case RangeRule:
		if s[i] != '-' {
			return 0
		}
		if v4 {
			a, j, ok := fastIPv4(s, i+1)
			if !ok {
				return 0
			}
			end, i = ipFrom4(a), j
		} else {
			hi, lo, j, ok := fastIPv6(s, i+1)
			if !ok {
				return 0
			}
			end, i = ip{hi: hi, lo: lo}, j
		}
		if start.cmp(end) > 0 {
			return 0 // the general reader says why
		}
	case SubnetRule:
		if s[i] != '/' {
			return 0
		}
		w := binary.LittleEndian.Uint32(s[i+1:])
		n := bits.TrailingZeros64(nonDigits(uint64(w)) | 1<<4)
		if uint(n-1) >= 3 || n > 1 && s[i+1] == '0' {
			return 0
		}
		p := decimal(w, n)
		if p > uint32(maxPrefix(v4)) {
			return 0
		}
		prefix, i = uint8(p), i+1+n
	}
	if s[i] != '"' {
		return 0
	}
	*c = newRule(kind, start, end, prefix)
	return i + 1
}

// ruleHeads are the heads of Node's rule strings ("Address: IPv",
// "Subnet: IPv", "Range: IPv"), by their first byte: the kind, the first
// eight bytes as a word, and the length.
var ruleHeads = func() (t [256]struct {
	word uint64
	n    int
	kind RuleKind
}) {
	for _, k := range []RuleKind{AddressRule, RangeRule, SubnetRule} {
		head := k.String() + ": IPv"
		h := &t[head[0]]
		h.word, h.n, h.kind = binary.LittleEndian.Uint64([]byte(head)), len(head), k
	}
	return t
}()

// fastMargin is how many bytes fastRule needs after its start.
const fastMargin = 128

// fastElement reads the array element at s[i:] (after space, if any) when
// fastRule reads its rule and a comma follows it (after space): it stores
// the rule in *c, and returns the length of its JSON string (quotes
// included) and the offset after the comma. next is 0 when it is not such
// an element, or is too near the end of s; the general reader then reads
// it, and reports what is wrong.
func fastElement(s []byte, i int, c *crule) (n, next int) {
	j := skipSpace(s, i)
	if len(s)-j <= fastMargin || s[j] != '"' {
		return 0, 0
	}
	end := fastRule(s, j+1, c)
	if end == 0 {
		return 0, 0
	}
	k := skipSpace(s, end)
	if k == len(s) || s[k] != ',' {
		return 0, 0
	}
	return end - j, k + 1
}

// scanFast reads the elements at s[i:] that fastElement reads, and hands
// their rules to sink; it returns the offset after the last one (i if
// none). Each sink has its own loop, without an interface call a rule.
func scanFast(s []byte, i int, sink ruleSink) int {
	var c crule
	switch sink := sink.(type) {
	case *spans:
		for {
			_, next := fastElement(s, i, &c)
			if next == 0 {
				return i
			}
			sink.add(c)
			i = next
		}
	case *fileBatch:
		for {
			n, next := fastElement(s, i, &c)
			if next == 0 {
				return i
			}
			sink.longest = max(sink.longest, n)
			sink.Batch.rule(c)
			i = next
		}
	case *ruleList:
		l := *sink
		for {
			_, next := fastElement(s, i, &c)
			if next == 0 {
				break
			}
			l = append(l, c)
			i = next
		}
		*sink = l
	}
	// Any other sink has the general reader only (the tests compare the
	// two with one).
	return i
}

// SWAR constants: a byte repeated in each of the eight lanes of a word.
const (
	lanes = 0x0101010101010101
	highs = 0x8080808080808080
)

// laneBits gathers the high bits of the eight lanes of x (nothing else
// set) into the low eight bits of the result: lane k gives bit k.
func laneBits(x uint64) uint64 { return (x >> 7) * 0x0102040810204080 >> 56 }

// nonDigits returns a bit for each of the eight bytes of w (the first in
// the low byte) that is not a decimal digit. The high bit of each lane is
// set before a subtraction so that none borrows from the next lane.
func nonDigits(w uint64) uint64 {
	a := w | highs
	digit := (a - lanes*'0') &^ (a - lanes*('9'+1))
	return laneBits((^digit | w) & highs)
}

// decimal reads the n decimal digits (1 to 3) at the start of w (the
// first in the low byte).
func decimal(w uint32, n int) uint32 {
	// The digits, moved to the top lanes: the last in lane 3.
	x := (w - 0x30303030) << uint(32-8*n)
	return (x>>8&0xff)*100 + (x>>16&0xff)*10 + x>>24
}

// fastIPv4 reads four decimal octets at s[i:] as scanIPv4 does, and
// returns the address and the offset of the byte after them (never a
// digit: the last octet would have more than three; what it is, is the
// caller's to judge). s must hold 24 bytes from i.
func fastIPv4(s []byte, i int) (a uint32, next int, ok bool) {
	p := (*[24]byte)(s[i:])
	// Where the digits stop, in the 16 bytes an address and the byte
	// after it can take, and four more bits past them, so that there are
	// always four: the ends of the four octets, found one after the
	// other from the bits, rather than from the bytes of each octet.
	m := nonDigits(binary.LittleEndian.Uint64(p[:8])) | nonDigits(binary.LittleEndian.Uint64(p[8:16]))<<8 | 0xf<<16
	e0 := bits.TrailingZeros64(m)
	m &= m - 1
	e1 := bits.TrailingZeros64(m)
	m &= m - 1
	e2 := bits.TrailingZeros64(m)
	m &= m - 1
	e3 := bits.TrailingZeros64(m)
	n0, n1, n2, n3 := e0, e1-e0-1, e2-e1-1, e3-e2-1
	if uint(n0-1) >= 3 || uint(n1-1) >= 3 || uint(n2-1) >= 3 || uint(n3-1) >= 3 {
		return 0, 0, false
	}
	if p[e0] != '.' || p[e1] != '.' || p[e2] != '.' {
		return 0, 0, false
	}
	w0 := binary.LittleEndian.Uint32(p[0:4])
	w1 := binary.LittleEndian.Uint32(p[e0+1 : e0+5])
	w2 := binary.LittleEndian.Uint32(p[e1+1 : e1+5])
	w3 := binary.LittleEndian.Uint32(p[e2+1 : e2+5])
	// A leading zero is an octet of its own.
	if n0 > 1 && byte(w0) == '0' || n1 > 1 && byte(w1) == '0' || n2 > 1 && byte(w2) == '0' || n3 > 1 && byte(w3) == '0' {
		return 0, 0, false
	}
	v0, v1, v2, v3 := decimal(w0, n0), decimal(w1, n1), decimal(w2, n2), decimal(w3, n3)
	if v0 > 255 || v1 > 255 || v2 > 255 || v3 > 255 {
		return 0, 0, false
	}
	return v0<<24 | v1<<16 | v2<<8 | v3, i + e3, true
}

// nonHex returns a bit for each of the eight bytes of w that is not a hex
// digit in either case.
func nonHex(w uint64) uint64 {
	a := w | highs
	digit := (a - lanes*'0') &^ (a - lanes*('9'+1))
	l := w | lanes*0x20 | highs // lower case
	letter := (l - lanes*'a') &^ (l - lanes*('f'+1))
	return laneBits((^(digit | letter) | w) & highs)
}

// hex16 reads the n hex digits (1 to 4) at the start of w (the first in
// the low byte); it returns 0 for n = 0, or more than 4.
func hex16(w uint32, n int) uint64 {
	// The value of each digit: its low four bits, plus 9 for a letter
	// (0x40 is set in letters, not in digits).
	v := w&0x0f0f0f0f + (w>>6&0x01010101)*9
	// The last digit moved to lane 3, the lanes reversed, then packed
	// four bits a lane.
	x := bits.ReverseBytes32(v << uint(32-8*n))
	x |= x >> 4
	return uint64(x&0xff | x>>8&0xff00)
}

// fastIPv6 is scanIPv6, and gives the same answer, for an address of
// eight groups, as most are when written in full, or of up to six groups
// then "::", as a network often is: the ends of the groups are found at
// once, as fastIPv4 finds the octets', and the groups read without a
// loop. Any other address ("::" elsewhere, a dotted IPv4 part, a refused
// one) is left to scanIPv6. s must hold 56 bytes from i.
func fastIPv6(s []byte, i int) (hi, lo uint64, next int, ok bool) {
	p := (*[56]byte)(s[i:])
	// Where the hex digits stop, in the 40 bytes an address of eight
	// groups and the byte after it take, and eight more bits, so that
	// there are always eight.
	m := nonHex(binary.LittleEndian.Uint64(p[0:8])) |
		nonHex(binary.LittleEndian.Uint64(p[8:16]))<<8 |
		nonHex(binary.LittleEndian.Uint64(p[16:24]))<<16 |
		nonHex(binary.LittleEndian.Uint64(p[24:32]))<<24 |
		nonHex(binary.LittleEndian.Uint64(p[32:40]))<<32 | 0xff<<40
	var e [8]int
	e[0] = bits.TrailingZeros64(m)
	m &= m - 1
	e[1] = bits.TrailingZeros64(m)
	m &= m - 1
	e[2] = bits.TrailingZeros64(m)
	m &= m - 1
	e[3] = bits.TrailingZeros64(m)
	m &= m - 1
	e[4] = bits.TrailingZeros64(m)
	m &= m - 1
	e[5] = bits.TrailingZeros64(m)
	m &= m - 1
	e[6] = bits.TrailingZeros64(m)
	m &= m - 1
	e[7] = bits.TrailingZeros64(m)
	// n[k] is the length of group k, which ends at e[k]; a group of
	// length 0 is the second ':' of a "::", or the end after it.
	n := [8]int{e[0], e[1] - e[0] - 1, e[2] - e[1] - 1, e[3] - e[2] - 1, e[4] - e[3] - 1, e[5] - e[4] - 1, e[6] - e[5] - 1, e[7] - e[6] - 1}
	// groups is how many groups of one to four digits, each followed by
	// a ':', start the address.
	groups := 0
	for groups < 8 && uint(n[groups]-1) < 4 && p[e[groups]] == ':' {
		groups++
	}
	end := 0
	switch {
	case groups == 7 && uint(n[7]-1) < 4:
		// Eight groups, the last followed by neither a ':' nor a '.'.
		groups, end = 8, e[7]
	case groups >= 1 && groups <= 6 && n[groups] == 0 && p[e[groups]] == ':' && n[groups+1] == 0:
		// "::" after the groups (the ':' after the last group, and one
		// more), then the end.
		end = e[groups+1]
	default:
		return scanIPv6(s, i)
	}
	if c := p[end]; c == ':' || c == '.' {
		return scanIPv6(s, i)
	}
	var g [8]uint64
	g[0] = hex16(binary.LittleEndian.Uint32(p[0:4]), n[0])
	for k := 1; k < groups; k++ {
		g[k] = hex16(binary.LittleEndian.Uint32(p[e[k-1]+1:e[k-1]+5]), n[k])
	}
	hi = g[0]<<48 | g[1]<<32 | g[2]<<16 | g[3]
	lo = g[4]<<48 | g[5]<<32 | g[6]<<16 | g[7]
	return hi, lo, i + end, true
}
