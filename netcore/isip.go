package netcore

import (
	"encoding/binary"
	"math/bits"
	"strings"
	"unsafe"
)

// IsIP, IsIPv4 and IsIPv6 accept exactly the strings that Node's net.isIP,
// net.isIPv4 and net.isIPv6 accept. Node decides with two regular
// expressions (lib/internal/net.js, IPv4Reg and IPv6Reg, unchanged from v20
// to v26), which describe these languages:
//
//   - IPv4: four decimal octets 0-255 separated by dots, with no leading
//     zeros ("0" is an octet, "00" and "01" are not).
//   - IPv6: groups of one to four hex digits (either case) separated by
//     colons, the last of which may be an IPv4 address (counting as two
//     groups). Without "::" there are exactly eight groups; with one "::"
//     (at the start, in the middle or at the end) at most seven. It may be
//     followed by a zone: "%" and one or more of [0-9A-Za-z.:-].
//
// Nothing else is accepted: no spaces, brackets, prefix lengths, ports or
// line endings. Node's regexes read a JavaScript string, and every
// character they accept is ASCII, so any other byte (a NUL, invalid UTF-8)
// fails here as it fails there.
//
// The scanners avoid branching on what they read wherever they can: on a
// real file the length of each octet and group is unpredictable, and a
// byte-at-a-time walk of the grammar pays a branch misprediction for
// nearly every one. An IPv4 octet is read whole from three bytes with
// arithmetic; an IPv6 address is classified eight bytes at a time into bit
// masks (hex digits, colons), on which groups are runs of set bits and
// "::" is two adjacent colon bits.

// IsIP reports 4 if s is an IPv4 address, 6 if it is an IPv6 address and 0
// otherwise, by Node's rules (net.isIP).
func IsIP(s string) int {
	if len(s) == 0 || byteClass[s[0]]&clsStart == 0 {
		return 0 // not a hex digit or a colon: decided at once
	}
	if len(s) <= 15 && s[0]-'0' <= 9 && isIPv4(s) {
		return 4
	}
	if isIPv6(s) {
		return 6
	}
	return 0
}

// IsIPv4 reports whether s is an IPv4 address in dotted-decimal notation,
// by Node's rules (net.isIPv4).
func IsIPv4(s string) bool { return isIPv4(s) }

// IsIPv6 reports whether s is an IPv6 address, with an optional zone id, by
// Node's rules (net.isIPv6).
func IsIPv6(s string) bool {
	if len(s) < 2 || byteClass[s[0]]&clsStart == 0 {
		return false
	}
	return isIPv6(s)
}

// IsIPBytes is IsIP for a byte slice, without copying it.
func IsIPBytes(b []byte) int { return IsIP(bytesView(b)) }

// IsIPv4Bytes is IsIPv4 for a byte slice, without copying it.
func IsIPv4Bytes(b []byte) bool { return IsIPv4(bytesView(b)) }

// IsIPv6Bytes is IsIPv6 for a byte slice, without copying it.
func IsIPv6Bytes(b []byte) bool { return IsIPv6(bytesView(b)) }

// bytesView is b seen as a string without a copy. It is safe here because
// the scanners neither keep the string nor run while b could change under
// them (the caller owns b for the duration of the call).
func bytesView(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// maxAddress is the longest IPv6 address without a zone id, 45 bytes
// ("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"), rounded up to the
// width of the masks.
const maxAddress = 64

// view is s as a byte slice, for loading eight bytes at a time; it is only
// read.
func view(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// isIPv4 checks Node's IPv4 grammar: four octets separated by dots, each
// Node's v4Seg 25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9].
//
// The input (7 to 15 bytes) is loaded as two words and classified into a
// mask of digits and a mask of dots, which settle the shape: three dots,
// no empty octet, no octet of four digits. The dots' positions then give
// each octet, and its leading zero or excess over 255 is found with
// arithmetic; the four octets are independent of each other.
func isIPv4(s string) bool {
	n := len(s)
	if n < 7 || n > 15 {
		return false
	}
	b := view(s)
	var lo, hi uint64
	if n == 7 {
		lo = uint64(binary.LittleEndian.Uint32(b)) | uint64(binary.LittleEndian.Uint32(b[3:]))<<24
	} else {
		lo = binary.LittleEndian.Uint64(b)
		hi = binary.LittleEndian.Uint64(b[n-8:]) >> (8 * uint(16-n)) // bytes 8 to n-1
	}
	dot := gather(equal(lo, '.')) | gather(equal(hi, '.'))<<8
	if dot&0b11110 == 0 {
		return false // the first octet has one to three digits, then a dot
	}
	digit := gather(inRange(lo, '0', '9')) | gather(inRange(hi, '0', '9'))<<8
	d1 := dot & (dot - 1) // the dots after the first, and so on
	d2 := d1 & (d1 - 1)
	if digit|dot != below(n) || d2 == 0 || d2&(d2-1) != 0 {
		return false // not only digits and dots, or not three dots
	}
	if dot&(1|1<<uint(n-1)) != 0 || dot&(dot>>1) != 0 || digit&(digit>>1)&(digit>>2)&(digit>>3) != 0 {
		return false // a dot first or last, two dots together, four digits in a row
	}
	var a [24]byte // the bytes again, and zeros to read past the end
	binary.LittleEndian.PutUint64(a[0:], lo)
	binary.LittleEndian.PutUint64(a[8:], hi)
	p1, p2, p3 := bits.TrailingZeros64(dot)&15, bits.TrailingZeros64(d1)&15, bits.TrailingZeros64(d2)&15
	bad := octetBad(&a, 0, uint(p1)) |
		octetBad(&a, p1+1, uint(p2-p1-1)) |
		octetBad(&a, p2+1, uint(p3-p2-1)) |
		octetBad(&a, p3+1, uint(n-p3-1))
	return bad == 0
}

// octetBad returns 1 when the octet of l digits (one to three) at a[i] has
// a leading zero or exceeds 255, and 0 otherwise, without branching. Its
// first three bytes, read big-endian, compare as numbers compare: a
// three-digit octet over 255 is one above "255".
func octetBad(a *[24]byte, i int, l uint) uint {
	w := uint(bits.ReverseBytes32(binary.LittleEndian.Uint32(a[i&15:])) >> 8) // a[i], a[i+1], a[i+2]
	long := (l-2)>>63 ^ 1                                                     // two or three digits
	three := l >> 1 & l & 1
	zero := ((w>>16 ^ '0') - 1) >> 63            // the first digit is 0
	over := (('2'<<16 | '5'<<8 | '5') - w) >> 63 // over "255"
	return zero&long | three&over
}

// isIPv6 checks Node's IPv6 grammar: hex groups of one to four digits
// separated by colons, at most one "::", an optional IPv4 tail counting as
// two groups, eight groups without "::" and at most seven with it, and an
// optional zone id.
//
// It works on bit masks (bit i for byte i) of the hex digits and the colons
// in the first 64 bytes, made eight bytes at a time: a group is a run of
// hex bits, "::" two adjacent colon bits, and the grammar is a few
// operations on them.
func isIPv6(s string) bool {
	n := len(s)
	if n > maxAddress {
		// Only a long zone id makes an address this long.
		i := strings.IndexByte(s, '%')
		return i >= 0 && i <= maxAddress && isIPv6(s[:i]) && validZone(s, i)
	}
	// Classify eight bytes at a time up to the first byte that is neither
	// a hex digit nor a colon: the end of the input, a zone's "%", an
	// IPv4 tail's first dot, or a byte with no place in an address.
	// Nothing after it is needed from the masks.
	b := view(s)
	var hex, colon uint64
	end := n
	w := 0
	if n >= 8 {
		x := binary.LittleEndian.Uint64(b)
		c := gather(equal(x, ':'))
		if c&0x1f == 0 {
			return false // a first group of four digits at most, then a colon
		}
		h := gather(inRange(x, '0', '9') | inRange(x|lsb*0x20, 'a', 'f'))
		hex, colon = h, c
		if other := ^(h | c) & 0xff; other != 0 {
			end = bits.TrailingZeros64(other)
			goto classified
		}
		for w = 8; w+8 <= n; w += 8 {
			x := binary.LittleEndian.Uint64(b[w:])
			c := gather(equal(x, ':'))
			h := gather(inRange(x, '0', '9') | inRange(x|lsb*0x20, 'a', 'f'))
			hex |= h << uint(w)
			colon |= c << uint(w)
			if other := ^(h | c) & 0xff; other != 0 {
				end = w + bits.TrailingZeros64(other)
				goto classified
			}
		}
	}
	if w < n {
		// The last bytes, in the low bytes of x and zeros above them (a
		// zero byte is neither a hex digit nor a colon).
		var x uint64
		if n >= 8 {
			x = binary.LittleEndian.Uint64(b[n-8:]) >> (8 * uint(8-(n-w)))
		} else {
			for k := n - 1; k >= 0; k-- {
				x = x<<8 | uint64(b[k])
			}
		}
		c := gather(equal(x, ':'))
		if w == 0 && c&0x1f == 0 {
			return false
		}
		h := gather(inRange(x, '0', '9') | inRange(x|lsb*0x20, 'a', 'f'))
		hex |= h << uint(w)
		colon |= c << uint(w)
		end = min(w+bits.TrailingZeros64(^(h|c)&0xff), n)
	}
classified:
	groups := 0
	addrEnd, rest := end, end // the hex-and-colon part; where a zone may start
	if end < n && s[end] == '.' {
		// An IPv4 tail: it starts after the last colon before the dot.
		c := colon & below(end)
		if c == 0 {
			return false // no colon at all: an IPv4 address, not IPv6
		}
		addrEnd = 64 - bits.LeadingZeros64(c)
		if isIPv4(s[addrEnd:]) {
			rest = n // the common case: no zone
		} else {
			var ok bool
			if rest, ok = scanIPv4(s, addrEnd); !ok {
				return false
			}
		}
		groups = 2
	}
	if rest < n && s[rest] != '%' {
		return false
	}
	h, c := hex&below(addrEnd), colon&below(addrEnd)
	if h&(h>>1)&(h>>2)&(h>>3)&(h>>4) != 0 || c&(c>>1)&(c>>2) != 0 {
		return false // five hex digits or three colons in a row
	}
	double := c & (c >> 1)
	if double&(double-1) != 0 {
		return false // a second "::"
	}
	if c&3 == 1 {
		return false // one colon first
	}
	if last := uint(addrEnd - 1); groups == 0 && addrEnd > 0 && c>>last&1 == 1 && (last == 0 || c>>(last-1)&1 == 0) {
		return false // one colon last (before an IPv4 tail it separates)
	}
	groups += popcount(h &^ (h << 1)) // runs of hex digits
	if double != 0 {
		if groups > 7 { // "::" stands for at least one zero group
			return false
		}
	} else if groups != 8 {
		return false
	}
	return validZone(s, rest)
}

const (
	lsb uint64 = 0x0101010101010101 // the low bit of every byte
	msb uint64 = 0x8080808080808080 // the high bit of every byte
)

// equal sets the high bit of each byte of x that is c.
func equal(x uint64, c byte) uint64 {
	y := x ^ (lsb * uint64(c)) // zero where equal
	// The high bit of ((y & 0x7f) + 0x7f) | y is set exactly when the
	// byte is not zero; no carry crosses a byte.
	return ^(((y &^ msb) + ^msb) | y | ^msb)
}

// inRange sets the high bit of each byte b of x with lo <= b <= hi, for
// 0 < lo <= hi < 0x80.
func inRange(x uint64, lo, hi byte) uint64 {
	low := x &^ msb
	atLeastLo := low + lsb*uint64(0x80-lo) // high bit set when low >= lo
	aboveHi := low + lsb*uint64(0x7f-hi)   // high bit set when low > hi
	return atLeastLo &^ aboveHi &^ x & msb // bytes with the high bit set are out
}

// gather moves the high bit of byte i of x to bit i of the result.
func gather(x uint64) uint64 {
	return ((x >> 7) * 0x0102040810204080) >> 56
}

// popcount is bits.OnesCount64 without a call: with GOAMD64=v1, the
// default, the compiler may not assume a POPCNT instruction.
func popcount(x uint64) int {
	x -= x >> 1 & 0x5555555555555555
	x = x&0x3333333333333333 + x>>2&0x3333333333333333
	x = (x + x>>4) & 0x0f0f0f0f0f0f0f0f
	return int(x * 0x0101010101010101 >> 56)
}

// below returns the mask of the bits under bit n, n <= 64.
func below(n int) uint64 {
	if n >= 64 {
		return ^uint64(0)
	}
	return 1<<uint(n) - 1
}

// scanIPv4 reads a dotted quad starting at s[i] and returns the index just
// after its last octet, for an IPv4 tail in an IPv6 address. It does not
// look at what follows: the caller checks that the address ends there,
// which also rejects a fourth digit or a leading zero in the last octet
// ("::1.2.3.0004" stops after "1.2.3.0").
//
// Each octet is Node's v4Seg, 25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9]:
// one to three digits, no leading zero, at most 255. After a "0" octet the
// scanner stops, so that a digit after it is an unexpected byte.
func scanIPv4(s string, i int) (int, bool) {
	for octet := 0; ; octet++ {
		if i >= len(s) {
			return i, false
		}
		c := s[i] - '0'
		if c > 9 {
			return i, false
		}
		i++
		if c != 0 && i < len(s) {
			if d := s[i] - '0'; d <= 9 {
				i++
				if i < len(s) {
					if e := s[i] - '0'; e <= 9 {
						i++
						if uint(c)*100+uint(d)*10+uint(e) > 255 {
							return i, false
						}
					}
				}
			}
		}
		if octet == 3 {
			return i, true
		}
		if i >= len(s) || s[i] != '.' {
			return i, false
		}
		i++
	}
}

// validZone reports whether s[i:] is empty or a zone id: "%" followed by
// one or more of [0-9A-Za-z.:-] (Node's %[0-9a-zA-Z-.:]{1,}). s[i] is '%'
// when i < len(s).
func validZone(s string, i int) bool {
	if i == len(s) {
		return true
	}
	if i+1 == len(s) {
		return false
	}
	for i++; i < len(s); i++ {
		if byteClass[s[i]]&clsZone == 0 {
			return false
		}
	}
	return true
}

// Byte classes for the first byte of an address and for zone ids.
const (
	clsStart = 1 << iota // may start an address: a hex digit or ':'
	clsZone              // may be in a zone id: [0-9A-Za-z.:-]
)

var byteClass = func() (t [256]byte) {
	for _, c := range []byte("0123456789abcdefABCDEF:") {
		t[c] |= clsStart
	}
	for _, c := range []byte("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-.:") {
		t[c] |= clsZone
	}
	return t
}()
