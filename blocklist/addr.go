package blocklist

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"strconv"
	"strings"
)

// Family names, as Node spells them in a BlockList call. Node compares
// them without regard to case ('IPv6', 'IPV4').
const (
	IPv4 = "ipv4"
	IPv6 = "ipv6"
)

// text is what the parsers read: a string, or a line of a read buffer,
// which they look at without copying.
type text interface{ ~string | ~[]byte }

// ip is an address as a rule holds it: the 16 bytes of its IPv6 form as two
// big-endian halves (an IPv4 address as ::ffff:a.b.c.d), and whether its
// family is IPv4. The family matters for the rule string and for which of
// Node's comparisons apply; the 128-bit value is what intervals are built
// from.
type ip struct {
	hi, lo uint64
	v4     bool
}

// mappedHi and mappedLo are ::ffff:0:0, the IPv4-mapped prefix (96 bits).
const (
	mappedHi = 0
	mappedLo = 0xffff << 32
)

func ipFrom4(a uint32) ip { return ip{hi: mappedHi, lo: mappedLo | uint64(a), v4: true} }

// mapped reports whether an IPv6 address is in ::ffff:0:0/96.
func (a ip) mapped() bool { return a.hi == mappedHi && a.lo>>32 == 0xffff }

// v4value is the low 32 bits: the IPv4 address of an IPv4 or mapped address.
func (a ip) v4value() uint32 { return uint32(a.lo) }

func (a ip) family() string {
	if a.v4 {
		return IPv4
	}
	return IPv6
}

// netipAddr converts to net/netip: an IPv4 address is Is4, an IPv6 one
// (mapped or not) is a 16-byte address.
func (a ip) netipAddr() netip.Addr {
	if a.v4 {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], a.v4value())
		return netip.AddrFrom4(b)
	}
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], a.hi)
	binary.BigEndian.PutUint64(b[8:], a.lo)
	return netip.AddrFrom16(b)
}

// ipFromNetip converts from net/netip. Is4 addresses are IPv4; any other
// valid address is IPv6 (an Is4In6 address stays IPv6, as Node keeps
// '::ffff:1.2.3.4' an IPv6 address). The zone is dropped, as Node drops it.
func ipFromNetip(a netip.Addr) (ip, bool) {
	switch {
	case a.Is4():
		return ipFrom4(binary.BigEndian.Uint32(a.AsSlice())), true
	case a.Is6():
		b := a.As16()
		return ip{hi: binary.BigEndian.Uint64(b[:8]), lo: binary.BigEndian.Uint64(b[8:])}, true
	}
	return ip{}, false
}

// cmp orders addresses by their 128-bit value.
func (a ip) cmp(b ip) int {
	switch {
	case a.hi < b.hi:
		return -1
	case a.hi > b.hi:
		return 1
	case a.lo < b.lo:
		return -1
	case a.lo > b.lo:
		return 1
	}
	return 0
}

// familyOf reads a family the way Node's SocketAddress does: lower-cased,
// it must be exactly "ipv4" or "ipv6"; ok is false for anything else. An
// empty family is Node's default argument, 'ipv4'.
func familyOf(family string) (v4 bool, ok bool) {
	if family == "" {
		return true, true
	}
	if len(family) != 4 {
		return false, false
	}
	if lower(family[0]) != 'i' || lower(family[1]) != 'p' || lower(family[2]) != 'v' {
		return false, false
	}
	switch family[3] {
	case '4':
		return true, true
	case '6':
		return false, true
	}
	return false, false
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// parseAddress reads s as Node's SocketAddress does for a BlockList (libuv's
// uv_ip4_addr and uv_ip6_addr, which call inet_pton). It is not net.isIP:
//
//   - the string ends at a NUL byte, as the C string Node hands to libuv;
//   - IPv4 is four decimal octets, none with a leading zero; nothing else;
//   - IPv6 may end in a dotted IPv4 part and may carry a zone ("%eth0"),
//     which is ignored, whatever it is; when there is a zone, only the
//     first 39 bytes before the "%" are read (libuv copies the address
//     part into a 40-byte buffer), so a longer address part is cut short
//     rather than refused.
func parseAddress[T text](s T, v4 bool) (ip, bool) {
	// Neither a NUL nor a '%' can be part of an address: read it as it is
	// first, and cut it only when that fails.
	if v4 {
		if a, ok := parseIPv4(s); ok {
			return ipFrom4(a), true
		}
	} else if hi, lo, ok := parseIPv6(s); ok {
		return ip{hi: hi, lo: lo}, true
	}
	cut := s
	if i := indexByte(cut, 0); i >= 0 {
		cut = cut[:i]
	}
	if v4 {
		if len(cut) == len(s) {
			return ip{}, false
		}
		a, ok := parseIPv4(cut)
		return ipFrom4(a), ok
	}
	if i := indexByte(cut, '%'); i >= 0 {
		cut = cut[:min(i, 39)]
	}
	if len(cut) == len(s) {
		return ip{}, false
	}
	hi, lo, ok := parseIPv6(cut)
	return ip{hi: hi, lo: lo}, ok
}

// parseIPv4 reads exactly four decimal octets separated by dots. An octet
// is at most 255 and has no leading zero ("0" is fine, "01" is not).
func parseIPv4[T text](s T) (uint32, bool) {
	v, end, ok := scanIPv4(s, 0)
	return v, ok && end == len(s)
}

// scanIPv4 reads four octets from s[i:] and returns the offset after the
// last digit read; what follows is the caller's to judge.
func scanIPv4[T text](s T, i int) (v uint32, end int, ok bool) {
	for k := range 4 {
		if k > 0 {
			if i >= len(s) || s[i] != '.' {
				return 0, i, false
			}
			i++
		}
		if i >= len(s) {
			return 0, i, false
		}
		d := s[i] - '0'
		if d > 9 {
			return 0, i, false
		}
		i++
		octet := uint32(d)
		if d != 0 { // a leading zero is an octet of its own
			for range 2 {
				if i >= len(s) {
					break
				}
				d := s[i] - '0'
				if d > 9 {
					break
				}
				octet = octet*10 + uint32(d)
				i++
			}
			if octet > 255 {
				return 0, i, false
			}
		}
		v = v<<8 | octet
	}
	return v, i, true
}

// parseIPv6 reads an IPv6 address without a zone: up to eight groups of one
// to four hex digits (either case), one "::" for a run of zero groups, and
// optionally a dotted IPv4 address in place of the last two groups.
func parseIPv6[T text](s T) (hi, lo uint64, ok bool) {
	hi, lo, end, ok := scanIPv6(s, 0)
	return hi, lo, ok && end == len(s)
}

// scanIPv6 reads an IPv6 address from s[i:] up to the first byte that
// cannot be part of one (not a hex digit, ':' or '.'), or the end, and
// returns the offset of that byte.
func scanIPv6[T text](s T, i int) (hi, lo uint64, end int, ok bool) {
	var b [16]byte
	n := 0    // bytes of b filled
	gap := -1 // where "::" stands in b, -1 if there is none
	tok := i  // start of the group being read
	digits := 0
	var group uint32
	if i < len(s) && s[i] == ':' {
		// A leading ':' must be the start of "::"; the second ':' is
		// then read as the gap below.
		if i+1 >= len(s) || s[i+1] != ':' {
			return 0, 0, i, false
		}
		i++
		tok = i
	}
	for ; i < len(s); i++ {
		c := s[i]
		if h := hexValue[c]; h != 0xff {
			group = group<<4 | uint32(h)
			digits++
			if digits > 4 {
				return 0, 0, i, false
			}
			continue
		}
		if c == ':' {
			tok = i + 1
			if digits == 0 {
				if gap >= 0 {
					return 0, 0, i, false // a second "::"
				}
				gap = n
				continue
			}
			if i+1 == len(s) || !v6Byte[s[i+1]] || n+2 > 16 {
				return 0, 0, i, false // a trailing ':', or too many groups
			}
			b[n], b[n+1] = byte(group>>8), byte(group)
			n += 2
			digits, group = 0, 0
			continue
		}
		if c == '.' {
			// The group read so far starts a dotted IPv4 address, which
			// must end the address.
			a, end4, ok4 := scanIPv4(s, tok)
			if !ok4 || n+4 > 16 || end4 < len(s) && v6Byte[s[end4]] {
				return 0, 0, i, false
			}
			binary.BigEndian.PutUint32(b[n:], a)
			n += 4
			digits = 0
			i = end4
			break
		}
		break // the end of the address
	}
	if digits > 0 {
		if n+2 > 16 {
			return 0, 0, i, false
		}
		b[n], b[n+1] = byte(group>>8), byte(group)
		n += 2
	}
	if gap >= 0 {
		if n == 16 {
			return 0, 0, i, false // "::" standing for no group at all
		}
		tail := n - gap
		copy(b[16-tail:], b[gap:n])
		clear(b[gap : 16-tail])
		n = 16
	}
	if n != 16 {
		return 0, 0, i, false
	}
	return binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:]), i, true
}

// hexValue is each byte's value as a hex digit, 0xff for other bytes.
var hexValue = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = byte(c - '0')
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = byte(c-'a') + 10
		t[c-'a'+'A'] = byte(c-'a') + 10
	}
	return t
}()

// indexByte is strings.IndexByte or bytes.IndexByte.
func indexByte[T text](s T, c byte) int {
	switch v := any(s).(type) {
	case string:
		return strings.IndexByte(v, c)
	case []byte:
		return bytes.IndexByte(v, c)
	}
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

// appendAddress appends the address as Node prints it in a rule string
// (libuv's inet_ntop): dotted decimal for IPv4; for IPv6, lower-case hex
// groups without leading zeros, the leftmost longest run of two or more
// zero groups as "::", and a dotted IPv4 tail for ::ffff:a.b.c.d, and for
// ::a.b.c.d when exactly the first six groups are zero (so ::1 stays ::1).
func appendAddress(dst []byte, a ip) []byte {
	if a.v4 {
		return appendIPv4(dst, a.v4value())
	}
	var w [8]uint16
	for i := range 4 {
		w[i] = uint16(a.hi >> (48 - 16*i))
		w[4+i] = uint16(a.lo >> (48 - 16*i))
	}
	// The longest run of zero groups; the first one wins a tie.
	bestAt, bestLen := -1, 0
	for i := 0; i < 8; {
		if w[i] != 0 {
			i++
			continue
		}
		j := i
		for j < 8 && w[j] == 0 {
			j++
		}
		if j-i > bestLen {
			bestAt, bestLen = i, j-i
		}
		i = j
	}
	if bestLen < 2 {
		bestAt = -1
	}
	for i := 0; i < 8; i++ {
		if bestAt >= 0 && i >= bestAt && i < bestAt+bestLen {
			if i == bestAt {
				dst = append(dst, ':')
			}
			continue
		}
		if i != 0 {
			dst = append(dst, ':')
		}
		if i == 6 && bestAt == 0 && (bestLen == 6 || bestLen == 5 && w[5] == 0xffff) {
			return appendIPv4(dst, uint32(a.lo))
		}
		dst = appendHex16(dst, w[i])
	}
	if bestAt >= 0 && bestAt+bestLen == 8 {
		dst = append(dst, ':')
	}
	return dst
}

func appendIPv4(dst []byte, v uint32) []byte {
	d := &decimalOctets[v>>24]
	dst = append(dst, d[1:1+d[0]]...)
	for shift := 16; shift >= 0; shift -= 8 {
		d = &decimalOctets[v>>shift&0xff]
		dst = append(dst, '.')
		dst = append(dst, d[1:1+d[0]]...)
	}
	return dst
}

// decimalOctets holds each octet in decimal: its length, then its digits.
var decimalOctets = func() (t [256][4]byte) {
	for v := range t {
		s := strconv.Itoa(v)
		t[v][0] = byte(len(s))
		copy(t[v][1:], s)
	}
	return t
}()

// appendHex16 appends a group in lower-case hex without leading zeros.
func appendHex16(dst []byte, g uint16) []byte {
	const digits = "0123456789abcdef"
	switch {
	case g >= 0x1000:
		return append(dst, digits[g>>12], digits[g>>8&15], digits[g>>4&15], digits[g&15])
	case g >= 0x100:
		return append(dst, digits[g>>8], digits[g>>4&15], digits[g&15])
	case g >= 0x10:
		return append(dst, digits[g>>4], digits[g&15])
	}
	return append(dst, digits[g])
}

func (a ip) String() string { return string(appendAddress(nil, a)) }

// Family reads a family name as Node's SocketAddress does: "ipv4" or
// "ipv6" in any case, returned lower-cased; "" is Node's default, "ipv4".
// Any other name is Node's ERR_INVALID_ARG_VALUE.
func Family(family string) (string, error) {
	v4, ok := familyOf(family)
	switch {
	case !ok:
		return "", errFamily(family)
	case v4:
		return IPv4, nil
	}
	return IPv6, nil
}
