package netcore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nodenet/nodenet/netcore/nodetest"
)

// Node's own test lists: test/parallel/test-net-isipv4.js and
// test-net-isipv6.js (every entry), and the string cases of
// test-net-isip.js.
var (
	nodeV4 = []string{
		"0.0.0.0", "8.8.8.8", "127.0.0.1", "100.100.100.100", "192.168.0.1",
		"18.101.25.153", "123.23.34.2", "172.26.168.134", "212.58.241.131",
		"128.0.0.0", "23.71.254.72", "223.255.255.255", "192.0.2.235",
		"99.198.122.146", "46.51.197.88", "173.194.34.134",
	}
	nodeV4Not = []string{
		".100.100.100.100", "100..100.100.100.", "100.100.100.100.",
		"999.999.999.999", "256.256.256.256", "256.100.100.100.100",
		"123.123.123", "http://123.123.123", "1000.2.3.4", "999.2.3.4",
		"0000000192.168.0.200", "192.168.0.2000000000",
	}
	nodeV6 = []string{
		"::", "1::", "::1", "1::8", "1::7:8", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6::8",
		"1:2:3:4:5:6:7::", "1:2:3:4:5::7:8", "1:2:3:4:5::8", "1:2:3::8",
		"1::4:5:6:7:8", "1::6:7:8", "1::3:4:5:6:7:8", "1:2:3:4::6:7:8",
		"1:2::4:5:6:7:8", "::2:3:4:5:6:7:8", "1:2::8",
		"2001:0000:1234:0000:0000:C1C0:ABCD:0876",
		"3ffe:0b00:0000:0000:0001:0000:0000:000a",
		"FF02:0000:0000:0000:0000:0000:0000:0001",
		"0000:0000:0000:0000:0000:0000:0000:0001",
		"0000:0000:0000:0000:0000:0000:0000:0000",
		"::ffff:192.168.1.26", "2::10", "ff02::1", "fe80::", "2002::", "2001:db8::",
		"2001:0db8:1234::", "::ffff:0:0", "::ffff:192.168.1.1", "1:2:3:4::8",
		"1::2:3:4:5:6:7", "1::2:3:4:5:6", "1::2:3:4:5", "1::2:3:4", "1::2:3",
		"::2:3:4:5:6:7", "::2:3:4:5:6", "::2:3:4:5", "::2:3:4", "::2:3", "::8",
		"1:2:3:4:5:6::", "1:2:3:4:5::", "1:2:3:4::", "1:2:3::", "1:2::",
		"1:2:3:4::7:8", "1:2:3::7:8", "1:2::7:8", "1:2:3:4:5:6:1.2.3.4",
		"1:2:3:4:5::1.2.3.4", "1:2:3:4::1.2.3.4", "1:2:3::1.2.3.4", "1:2::1.2.3.4",
		"1::1.2.3.4", "1:2:3:4::5:1.2.3.4", "1:2:3::5:1.2.3.4", "1:2::5:1.2.3.4",
		"1::5:1.2.3.4", "1::5:11.22.33.44", "fe80::217:f2ff:254.7.237.98",
		"fe80::217:f2ff:fe07:ed62", "2001:DB8:0:0:8:800:200C:417A",
		"FF01:0:0:0:0:0:0:101", "0:0:0:0:0:0:0:1", "0:0:0:0:0:0:0:0",
		"2001:DB8::8:800:200C:417A", "FF01::101", "0:0:0:0:0:0:13.1.68.3",
		"0:0:0:0:0:FFFF:129.144.52.38", "::13.1.68.3", "::FFFF:129.144.52.38",
		"fe80:0000:0000:0000:0204:61ff:fe9d:f156", "fe80:0:0:0:204:61ff:fe9d:f156",
		"fe80::204:61ff:fe9d:f156", "fe80:0:0:0:204:61ff:254.157.241.86",
		"fe80::204:61ff:254.157.241.86", "fe80::1",
		"2001:0db8:85a3:0000:0000:8a2e:0370:7334", "2001:db8:85a3:0:0:8a2e:370:7334",
		"2001:db8:85a3::8a2e:370:7334", "2001:0db8:0000:0000:0000:0000:1428:57ab",
		"2001:0db8:0000:0000:0000::1428:57ab", "2001:0db8:0:0:0:0:1428:57ab",
		"2001:0db8:0:0::1428:57ab", "2001:0db8::1428:57ab", "2001:db8::1428:57ab",
		"::ffff:12.34.56.78", "::ffff:0c22:384e", "2001:0db8:1234:0000:0000:0000:0000:0000",
		"2001:0db8:1234:ffff:ffff:ffff:ffff:ffff", "2001:db8:a::123",
		"::ffff:192.0.2.128", "::ffff:c000:280", "a:b:c:d:e:f:f1:f2", "a:b:c::d:e:f:f1",
		"a:b:c::d:e:f", "a:b:c::d:e", "a:b:c::d", "::a", "::a:b:c", "::a:b:c:d:e:f:f1",
		"a::", "a:b:c::", "a:b:c:d:e:f:f1::", "a:bb:ccc:dddd:000e:00f:0f::",
		"0:a:0:a:0:0:0:a", "0:a:0:0:a:0:0:a", "2001:db8:1:1:1:1:0:0",
		"2001:db8:1:1:1:0:0:0", "2001:db8:1:1:0:0:0:0", "2001:db8:1:0:0:0:0:0",
		"2001:db8:0:0:0:0:0:0", "2001:0:0:0:0:0:0:0", "A:BB:CCC:DDDD:000E:00F:0F::",
		"0:0:0:0:0:0:0:a", "0:0:0:0:a:0:0:0", "0:0:0:a:0:0:0:0", "a:0:0:a:0:0:a:a",
		"a:0:0:a:0:0:0:a", "a:0:0:0:a:0:0:a", "a:0:0:0:a:0:0:0", "a:0:0:0:0:0:0:0",
		"fe80::7:8%eth0", "fe80::7:8%1",
	}
	nodeV6Not = []string{
		"", "1:", ":1", "11:36:12", "02001:0000:1234:0000:0000:C1C0:ABCD:0876",
		"2001:0000:1234:0000:00001:C1C0:ABCD:0876", "2001:0000:1234: 0000:0000:C1C0:ABCD:0876",
		"2001:1:1:1:1:1:255Z255X255Y255", "3ffe:0b00:0000:0001:0000:0000:000a",
		"FF02:0000:0000:0000:0000:0000:0000:0000:0001", "3ffe:b00::1::a",
		"::1111:2222:3333:4444:5555:6666::", "1:2:3::4:5::7:8", "12345::6:7:8",
		"1::5:400.2.3.4", "1::5:260.2.3.4", "1::5:256.2.3.4", "1::5:1.256.3.4",
		"1::5:1.2.256.4", "1::5:1.2.3.256", "1::5:300.2.3.4", "1::5:1.300.3.4",
		"1::5:1.2.300.4", "1::5:1.2.3.300", "1::5:900.2.3.4", "1::5:1.900.3.4",
		"1::5:1.2.900.4", "1::5:1.2.3.900", "1::5:300.300.300.300", "1::5:3000.30.30.30",
		"1::400.2.3.4", "1::260.2.3.4", "1::256.2.3.4", "1::1.256.3.4", "1::1.2.256.4",
		"1::1.2.3.256", "1::300.2.3.4", "1::1.300.3.4", "1::1.2.300.4", "1::1.2.3.300",
		"1::900.2.3.4", "1::1.900.3.4", "1::1.2.900.4", "1::1.2.3.900",
		"1::300.300.300.300", "1::3000.30.30.30", "::400.2.3.4", "::260.2.3.4",
		"::256.2.3.4", "::1.256.3.4", "::1.2.256.4", "::1.2.3.256", "::300.2.3.4",
		"::1.300.3.4", "::1.2.300.4", "::1.2.3.300", "::900.2.3.4", "::1.900.3.4",
		"::1.2.900.4", "::1.2.3.900", "::300.300.300.300", "::3000.30.30.30",
		"2001:DB8:0:0:8:800:200C:417A:221", "FF01::101::2", "1111:2222:3333:4444::5555:",
		"1111:2222:3333::5555:", "1111:2222::5555:", "1111::5555:", "::5555:", ":::",
		"1111:", ":", ":1111:2222:3333:4444::5555", ":1111:2222:3333::5555",
		":1111:2222::5555", ":1111::5555", ":::5555", "1.2.3.4:1111:2222:3333:4444::5555",
		"1.2.3.4:1111:2222:3333::5555", "1.2.3.4:1111:2222::5555", "1.2.3.4:1111::5555",
		"1.2.3.4::5555", "1.2.3.4::", "fe80:0000:0000:0000:0204:61ff:254.157.241.086",
		"123", "ldkfj", "2001::FFD3::57ab", "2001:db8:85a3::8a2e:37023:7334",
		"2001:db8:85a3::8a2e:370k:7334", "1:2:3:4:5:6:7:8:9", "1::2::3", "1:::3:4:5",
		"1:2:3::4:5:6:7:8:9", "::ffff:2.3.4", "::ffff:257.1.2.3",
		"::ffff:12345678901234567890.1.26", "2001:0000:1234:0000:0000:C1C0:ABCD:0876 0",
		"02001:0000:1234:0000:0000:C1C0:ABCD:0876",
	}
)

func TestIsIP(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want int
	}{
		// test-net-isip.js
		{"node loopback v4", "127.0.0.1", 4},
		{"node prefixed v4", "x127.0.0.1", 0},
		{"node hostname", "example.com", 0},
		{"node all zeros long", "0000:0000:0000:0000:0000:0000:0000:0000", 6},
		{"node nine groups with ::", "0000:0000:0000:0000:0000:0000:0000:0000::0000", 0},
		{"node full", "1050:0:0:0:5:600:300c:326b", 6},
		{"node compressed", "2001:252:0:1::2008:6", 6},
		{"node dead beef", "2001:dead:beef:1::2008:6", 6},
		{"node trailing ::", "2001::", 6},
		{"node trailing :: 2", "2001:dead::", 6},
		{"node trailing :: 3", "2001:dead:beef::", 6},
		{"node trailing :: 4", "2001:dead:beef:1::", 6},
		{"node all f", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 6},
		{"node colons both ends", ":2001:252:0:1::2008:6:", 0},
		{"node leading colon", ":2001:252:0:1::2008:6", 0},
		{"node trailing colon", "2001:252:0:1::2008:6:", 0},
		{"node two ::", "2001:252::1::2008:6", 0},
		{"node leading ::", "::2001:252:1:2008:6", 6},
		{"node v4 tail", "::2001:252:1:1.1.1.1", 6},
		{"node v4 tail max", "::2001:252:1:255.255.255.255", 6},
		{"node v4 tail five octets", "::2001:252:1:255.255.255.255.76", 0},
		{"node non-hex", "::anything", 0},
		{"node ::1", "::1", 6},
		{"node ::", "::", 6},
		{"node five hex digits", "0000:0000:0000:0000:0000:0000:12345:0000", 0},
		{"node 0", "0", 0},
		{"node empty", "", 0},
		{"node bla", "bla", 0},

		// Octets.
		{"octet 0", "0.0.0.0", 4},
		{"octet 255", "255.255.255.255", 4},
		{"octet 256", "255.255.255.256", 0},
		{"octet 199", "199.199.199.199", 4},
		{"octet 249", "249.249.249.249", 4},
		{"leading zero", "01.2.3.4", 0},
		{"leading zero last", "1.2.3.04", 0},
		{"double zero", "1.2.3.00", 0},
		{"four digits last", "1.2.3.1000", 0},
		{"three octets", "1.2.3", 0},
		{"five octets", "1.2.3.4.5", 0},
		{"trailing dot", "1.2.3.4.", 0},
		{"empty octet", "1..3.4", 0},
		{"plus sign", "+1.2.3.4", 0},
		{"hex octet", "0x7f.0.0.1", 0},
		{"short form", "127.1", 0},
		{"integer form", "2130706433", 0},
		{"cidr", "10.0.0.0/8", 0},
		{"v4 with port", "1.2.3.4:80", 0},

		// IPv6 shapes.
		{"seven groups and ::", "1:2:3:4:5:6:7::", 6},
		{"eight groups and ::", "1:2:3:4:5:6:7:8::", 0},
		{"seven groups", "1:2:3:4:5:6:7", 0},
		{"six groups and v4", "1:2:3:4:5:6:1.2.3.4", 6},
		{"seven groups and v4", "1:2:3:4:5:6:7:1.2.3.4", 0},
		{"six groups :: v4", "1:2:3:4:5:6::1.2.3.4", 0},
		{"five groups :: v4", "1:2:3:4:5::1.2.3.4", 6},
		{"v4 only after ::", "::1.2.3.4", 6},
		{"v4 leading zero in tail", "::1.2.3.04", 0},
		{"v4 hex in tail", "::1.2.3.a", 0},
		{"hex then dot", "::a1.2.3.4", 0},
		{"v4 first", "1.2.3.4::", 0},
		{"upper hex", "ABCD:EF01::", 6},
		{"mixed case", "aBcD::eF", 6},
		{"four digit group", "ffff::", 6},
		{"five digit group", "fffff::", 0},
		{"triple colon", ":::", 0},
		{"triple colon inside", "1:::2", 0},
		{"single colon", ":", 0},
		{"non-hex g", "::g", 0},
		{"brackets", "[::1]", 0},
		{"bracket port", "[::1]:80", 0},
		{"prefix length", "::1/128", 0},

		// Zones: %[0-9a-zA-Z-.:]{1,}.
		{"zone name", "fe80::1%eth0", 6},
		{"zone number", "fe80::1%1", 6},
		{"zone all allowed", "fe80::1%aZ09-.:", 6},
		{"zone on ::", "::%x", 6},
		{"zone on v4 tail", "::ffff:1.2.3.4%lo", 6},
		{"zone colon only", "::1%:", 6},
		{"zone empty", "fe80::1%", 0},
		{"zone underscore", "fe80::1%eth_0", 0},
		{"zone space", "fe80::1%eth 0", 0},
		{"zone percent", "fe80::1%%", 0},
		{"zone second percent", "fe80::1%a%b", 0},
		{"zone slash", "fe80::1%a/b", 0},
		{"zone unicode", "fe80::1%é", 0},
		{"zone on v4", "1.2.3.4%eth0", 0},
		{"zone on bad address", "1:2%eth0", 0},

		// Nothing around the address.
		{"leading space", " 1.2.3.4", 0},
		{"trailing space", "1.2.3.4 ", 0},
		{"trailing newline v4", "1.2.3.4\n", 0},
		{"trailing newline v6", "::1\n", 0},
		{"trailing CR", "::1\r", 0},
		{"NUL inside", "1.2.3.4\x00", 0},
		{"NUL v6", "::\x001", 0},
		{"invalid UTF-8", "1.2.3.\xff", 0},
		{"arabic-indic digits", "١.٢.٣.٤", 0},
		{"fullwidth digits", "１.２.３.４", 0},
		{"fullwidth colon", "::１", 0},

		// Lengths at the scanner's word boundaries.
		{"shortest v4", "1.2.3.4", 4},
		{"eight bytes v4", "10.2.3.4", 4},
		{"longest v4", "255.255.255.255", 4},
		{"sixteen bytes v4-like", "255.255.255.2555", 0},
		{"longest v6", "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", 6},
		{"v6 of 64 bytes", "1:2:3:4:5:6:7:8%" + strings.Repeat("z", 48), 6},
		{"v6 of 65 bytes", "1:2:3:4:5:6:7:8%" + strings.Repeat("z", 49), 6},
		{"long zone", "fe80::1%" + strings.Repeat("eth0.", 100), 6},
		{"long zone with a bad byte", "fe80::1%" + strings.Repeat("eth0.", 100) + "_", 0},
		{"64 hex digits and colons", strings.Repeat("1:", 32), 0},
		{"long garbage", strings.Repeat("1", 100), 0},
		{"long zone on a bad address", strings.Repeat("1:", 40) + "%eth0", 0},
		{"percent far away", strings.Repeat("a", 70) + "%eth0", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsIP(tt.in); got != tt.want {
				t.Errorf("IsIP(%q) = %d, want %d", tt.in, got, tt.want)
			}
			if got := IsIPv4(tt.in); got != (tt.want == 4) {
				t.Errorf("IsIPv4(%q) = %v", tt.in, got)
			}
			if got := IsIPv6(tt.in); got != (tt.want == 6) {
				t.Errorf("IsIPv6(%q) = %v", tt.in, got)
			}
			if got := IsIPBytes([]byte(tt.in)); got != tt.want {
				t.Errorf("IsIPBytes(%q) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}

// TestIsIPNodeLists runs every entry of Node's test-net-isipv4.js and
// test-net-isipv6.js.
func TestIsIPNodeLists(t *testing.T) {
	lists := []struct {
		name       string
		list       []string
		fn         func(string) bool
		want       bool
		wantFamily int
	}{
		{"isIPv4 true", nodeV4, IsIPv4, true, 4},
		{"isIPv4 false", nodeV4Not, IsIPv4, false, -1},
		{"isIPv6 true", nodeV6, IsIPv6, true, 6},
		{"isIPv6 false", nodeV6Not, IsIPv6, false, -1},
	}
	for _, l := range lists {
		t.Run(l.name, func(t *testing.T) {
			for _, s := range l.list {
				if got := l.fn(s); got != l.want {
					t.Errorf("%q: got %v, want %v", s, got, l.want)
				}
				if l.wantFamily > 0 && IsIP(s) != l.wantFamily {
					t.Errorf("IsIP(%q) = %d, want %d", s, IsIP(s), l.wantFamily)
				}
				if got := ipReference(s); l.want && got != l.wantFamily {
					t.Errorf("reference(%q) = %d: the reference disagrees with Node's list", s, got)
				}
			}
		})
	}
}

// TestWordHelpers checks the eight-bytes-at-a-time classifiers on every
// byte value in every position against plain comparisons.
func TestWordHelpers(t *testing.T) {
	for pos := 0; pos < 8; pos++ {
		for v := 0; v < 256; v++ {
			// The byte under test, among neighbours of every kind.
			x := uint64(0x3a2e7a41392f3030) &^ (0xff << (8 * pos))
			x |= uint64(v) << (8 * pos)
			for k := 0; k < 8; k++ {
				b := byte(x >> (8 * k))
				want := func(ok bool) uint64 {
					if ok {
						return 1
					}
					return 0
				}
				if got := gather(equal(x, ':')) >> k & 1; got != want(b == ':') {
					t.Fatalf("equal(%#x, ':') byte %d (%#x): %d", x, k, b, got)
				}
				if got := gather(inRange(x, '0', '9')) >> k & 1; got != want('0' <= b && b <= '9') {
					t.Fatalf("inRange(%#x, '0', '9') byte %d (%#x): %d", x, k, b, got)
				}
				if got := gather(inRange(x|lsb*0x20, 'a', 'f')) >> k & 1; got != want('a' <= b|0x20 && b|0x20 <= 'f') {
					t.Fatalf("inRange(%#x|0x20, 'a', 'f') byte %d (%#x): %d", x, k, b, got)
				}
			}
		}
	}
	for _, x := range []uint64{0, 1, 0xff, 0xdeadbeef, 1 << 63, ^uint64(0), 0x5555555555555555} {
		if got, want := popcount(x), bits.OnesCount64(x); got != want {
			t.Errorf("popcount(%#x) = %d, want %d", x, got, want)
		}
	}
}

func TestIsIPAllocs(t *testing.T) {
	inputs := []string{"127.0.0.1", "2001:db8::8:800:200C:417A", "fe80::1%eth0", "::ffff:1.2.3.4", "garbage"}
	b := []byte("::ffff:1.2.3.4%eth0")
	allocs := testing.AllocsPerRun(100, func() {
		for _, s := range inputs {
			IsIP(s)
		}
		IsIPBytes(b)
		IsIPv6Bytes(b)
		IsIPv4Bytes(b)
	})
	if allocs != 0 {
		t.Errorf("IsIP allocates %v times per run", allocs)
	}
}

// The reference: Node's regexes (lib/internal/net.js) as Go regexps. RE2
// matches the same language as V8 here: the patterns have no
// backreferences or lookaround, and `$` without the m flag matches only at
// the end of the text in both.
var (
	refV4Seg = `(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])`
	refV4Str = `(?:` + refV4Seg + `\.){3}` + refV4Seg
	refV6Seg = `(?:[0-9a-fA-F]{1,4})`
	refIPv4  = regexp.MustCompile(`^` + refV4Str + `$`)
	refIPv6  = regexp.MustCompile(`^(?:` +
		`(?:` + refV6Seg + `:){7}(?:` + refV6Seg + `|:)|` +
		`(?:` + refV6Seg + `:){6}(?:` + refV4Str + `|:` + refV6Seg + `|:)|` +
		`(?:` + refV6Seg + `:){5}(?::` + refV4Str + `|(?::` + refV6Seg + `){1,2}|:)|` +
		`(?:` + refV6Seg + `:){4}(?:(?::` + refV6Seg + `){0,1}:` + refV4Str + `|(?::` + refV6Seg + `){1,3}|:)|` +
		`(?:` + refV6Seg + `:){3}(?:(?::` + refV6Seg + `){0,2}:` + refV4Str + `|(?::` + refV6Seg + `){1,4}|:)|` +
		`(?:` + refV6Seg + `:){2}(?:(?::` + refV6Seg + `){0,3}:` + refV4Str + `|(?::` + refV6Seg + `){1,5}|:)|` +
		`(?:` + refV6Seg + `:){1}(?:(?::` + refV6Seg + `){0,4}:` + refV4Str + `|(?::` + refV6Seg + `){1,6}|:)|` +
		`(?::(?:(?::` + refV6Seg + `){0,5}:` + refV4Str + `|(?::` + refV6Seg + `){1,7}|:))` +
		`)(?:%[0-9a-zA-Z\-.:]{1,})?$`)
)

func ipReference(s string) int {
	switch {
	case refIPv4.MatchString(s):
		return 4
	case refIPv6.MatchString(s):
		return 6
	}
	return 0
}

// TestIsIPMatchesReference checks the scanner against the regexps on the
// generated corpus, without Node.
func TestIsIPMatchesReference(t *testing.T) {
	var bad []string
	for _, s := range ipCorpus(20000, 7) {
		if got, want := IsIP(s), ipReference(s); got != want {
			bad = append(bad, fmt.Sprintf("%q: IsIP %d, reference %d", s, got, want))
		}
	}
	reportDiffs(t, bad)
}

func FuzzIsIP(f *testing.F) {
	for _, l := range [][]string{nodeV4, nodeV4Not, nodeV6, nodeV6Not} {
		for _, s := range l {
			f.Add(s)
		}
	}
	f.Add("fe80::1%aZ09-.:")
	f.Add("::ffff:1.2.3.4%lo")
	f.Fuzz(func(t *testing.T, s string) {
		got, want := IsIP(s), ipReference(s)
		if got != want {
			t.Fatalf("IsIP(%q) = %d, reference %d", s, got, want)
		}
		if IsIPv4(s) != (want == 4) || IsIPv6(s) != (want == 6) {
			t.Fatalf("IsIPv4/IsIPv6(%q) disagree with IsIP %d", s, want)
		}
		if IsIPBytes([]byte(s)) != got {
			t.Fatalf("IsIPBytes(%q) != IsIP", s)
		}
	})
}

// TestIsIPAgainstNode is the differential test: a seeded corpus of 25,000
// strings biased to the edges, answered by Node v20 and the current Node in
// one process each.
func TestIsIPAgainstNode(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Node")
	}
	corpus := ipCorpus(25000, 1)
	input := jsonLines(t, corpus)
	const script = `
const net = require('net');
const lines = require('fs').readFileSync(0, 'utf8').split('\n');
const out = [];
for (const l of lines) {
  if (l === '') continue;
  const s = JSON.parse(l);
  out.push('' + net.isIP(s) + (net.isIPv4(s) ? 1 : 0) + (net.isIPv6(s) ? 1 : 0));
}
process.stdout.write(out.join('\n') + '\n');
`
	for _, node := range []struct {
		name string
		path func(testing.TB) string
	}{{"node20", nodetest.Node20}, {"current", nodetest.Current}} {
		t.Run(node.name, func(t *testing.T) {
			out := nodetest.Run(t, node.path(t), script, input, 2*time.Minute)
			answers := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
			if len(answers) != len(corpus) {
				t.Fatalf("node answered %d lines for %d inputs", len(answers), len(corpus))
			}
			var bad []string
			families := map[int]int{}
			for i, s := range corpus {
				ip := IsIP(s)
				families[ip]++
				got := fmt.Sprintf("%d%d%d", ip, b2i(IsIPv4(s)), b2i(IsIPv6(s)))
				if got != answers[i] {
					bad = append(bad, fmt.Sprintf("%q: nodenet %s, node %s (isIP, isIPv4, isIPv6)", s, got, answers[i]))
				}
			}
			// The batch automaton too, on every string that is one line.
			var batch []byte
			var which []int
			for i, s := range corpus {
				if !strings.Contains(s, "\n") && !strings.HasSuffix(s, "\r") {
					batch = append(batch, s+"\n"...)
					which = append(which, i)
				}
			}
			lines, _ := AppendIsIPLines(nil, batch)
			for j, i := range which {
				if got := lines[2*j]; got != answers[i][0] {
					bad = append(bad, fmt.Sprintf("%q: AppendIsIPLines %c, node %c", corpus[i], got, answers[i][0]))
				}
			}
			if len(which) < len(corpus)*9/10 {
				t.Errorf("only %d of %d strings are one line", len(which), len(corpus))
			}
			reportDiffs(t, bad)
			// The corpus must exercise all three answers, or the test
			// proves little.
			for _, fam := range []int{0, 4, 6} {
				if families[fam] < len(corpus)/10 {
					t.Errorf("corpus has only %d inputs with answer %d", families[fam], fam)
				}
			}
		})
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// jsonLines encodes each string as one JSON line, so that Node reads back
// exactly the string, newlines and NULs included.
func jsonLines(t testing.TB, corpus []string) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, s := range corpus {
		if !isValidUTF8(s) {
			t.Fatalf("corpus string %q is not UTF-8: Node would read another string", s)
		}
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func isValidUTF8(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

func reportDiffs(t *testing.T, bad []string) {
	t.Helper()
	if len(bad) == 0 {
		return
	}
	n := min(len(bad), 10)
	t.Errorf("%d differences; the first %d:\n%s", len(bad), n, strings.Join(bad[:n], "\n"))
}

// ipCorpus generates n strings, valid UTF-8, from a fixed seed: valid
// IPv4 and IPv6 addresses in every spelling, and near-misses made by
// breaking them.
func ipCorpus(n int, seed uint64) []string {
	g := &ipGen{r: rand.New(rand.NewPCG(seed, 0x15a1))}
	out := make([]string, 0, n)
	for len(out) < n {
		var s string
		switch k := g.r.IntN(100); {
		case k < 20:
			s = g.v4()
		case k < 45:
			s = g.v6()
		case k < 80:
			s = g.mutate(g.valid())
		case k < 90:
			s = g.edge()
		default:
			s = g.random()
		}
		// Byte edits may split a multi-byte character; Node would read
		// U+FFFD there, so the corpus holds exactly that.
		out = append(out, strings.ToValidUTF8(s, "\uFFFD"))
	}
	return out
}

type ipGen struct{ r *rand.Rand }

func (g *ipGen) pick(list ...string) string { return list[g.r.IntN(len(list))] }

func (g *ipGen) valid() string {
	if g.r.IntN(3) == 0 {
		return g.v4()
	}
	return g.v6()
}

// octet is a valid octet, biased to the boundaries of Node's v4Seg.
func (g *ipGen) octet() string {
	if g.r.IntN(2) == 0 {
		return g.pick("0", "1", "9", "10", "99", "100", "199", "200", "249", "250", "255")
	}
	return fmt.Sprint(g.r.IntN(256))
}

func (g *ipGen) v4() string {
	return g.octet() + "." + g.octet() + "." + g.octet() + "." + g.octet()
}

func (g *ipGen) group() string {
	v := g.r.IntN(0x10000)
	switch g.r.IntN(4) {
	case 0:
		v = g.r.IntN(16)
	case 1:
		v = 0
	}
	s := fmt.Sprintf("%x", v)
	if g.r.IntN(4) == 0 {
		s = strings.Repeat("0", 4-len(s)) + s
	}
	if g.r.IntN(3) == 0 {
		s = strings.ToUpper(s)
	}
	return s
}

// v6 writes eight groups (or six and an IPv4 tail), then perhaps
// compresses a run of them to "::" and adds a zone.
func (g *ipGen) v6() string {
	units := 8
	tail := ""
	if g.r.IntN(5) == 0 {
		units = 6
		tail = g.v4()
	}
	groups := make([]string, units)
	for i := range groups {
		groups[i] = g.group()
	}
	if tail != "" {
		groups = append(groups, tail)
	}
	var s string
	if g.r.IntN(5) != 0 {
		// Compress groups[i:j], 1 <= j-i, over units only.
		i := g.r.IntN(units)
		j := i + 1 + g.r.IntN(units-i)
		s = strings.Join(groups[:i], ":") + "::" + strings.Join(groups[j:], ":")
	} else {
		s = strings.Join(groups, ":")
	}
	if g.r.IntN(6) == 0 {
		s += "%" + g.zone()
	}
	return s
}

func (g *ipGen) zone() string {
	const ok = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-.:"
	n := 1 + g.r.IntN(8)
	b := make([]byte, n)
	for i := range b {
		b[i] = ok[g.r.IntN(len(ok))]
	}
	return string(b)
}

// mutate breaks (or sometimes keeps valid) an address with one or two
// edits chosen to land on the grammar's edges.
func (g *ipGen) mutate(s string) string {
	for range 1 + g.r.IntN(2) {
		i := 0
		if len(s) > 0 {
			i = g.r.IntN(len(s) + 1)
		}
		switch g.r.IntN(12) {
		case 0: // insert a grammar character
			s = s[:i] + g.pick(":", ".", "::", "0", "f", "F", "%", "1", "25", "%eth0") + s[i:]
		case 1: // delete a byte
			if i < len(s) {
				s = s[:i] + s[i+1:]
			}
		case 2: // replace a byte
			if i < len(s) {
				s = s[:i] + g.pick("g", ":", ".", "0", "9", "x", " ", "%", "-", "_") + s[i+1:]
			}
		case 3: // an extra group or octet
			s = g.pick(s+":1", "1:"+s, s+".1", "1."+s, s+"::", "::"+s, s+":", ":"+s)
		case 4: // leading zeros or too many digits
			s = strings.Replace(s, g.pick(".", ":"), g.pick(".0", ":0", ".00", ":00000", ".256", ":12345"), 1)
		case 5: // zone with an allowed or a disallowed character
			s += "%" + g.pick("eth0", "1", "a.b", "a:b", "a-b", "", "a_b", "a b", "é", "a%b", "a/b", "\x00")
		case 6: // brackets, ports, prefixes
			s = g.pick("["+s+"]", "["+s+"]:80", s+":80", s+"/64", s+"/24")
		case 7: // spaces and line endings
			s = g.pick(" "+s, s+" ", s+"\n", s+"\r\n", s+"\r", "\t"+s, s+"\x00")
		case 8: // unicode look-alikes
			s = strings.Replace(s, g.pick("1", "0", ".", ":"), g.pick("١", "１", "０", "。", "：", "\u00a0"), 1)
		case 9: // an IPv4 tail where one may or may not go
			s = g.pick(s+":1.2.3.4", s+"1.2.3.4", s+":"+g.v4(), strings.TrimSuffix(s, ":")+"::"+g.v4())
		case 10: // a triple colon
			s = strings.Replace(s, "::", ":::", 1)
		default: // keep it valid
		}
	}
	return s
}

// edge returns hand-picked shapes around "::" and the group counts.
func (g *ipGen) edge() string {
	groups := func(n int) string {
		p := make([]string, n)
		for i := range p {
			p[i] = g.group()
		}
		return strings.Join(p, ":")
	}
	a, b := g.r.IntN(9), g.r.IntN(9)
	switch g.r.IntN(8) {
	case 0:
		return groups(a+1) + "::" + groups(b+1)
	case 1:
		return "::" + groups(a+1)
	case 2:
		return groups(a+1) + "::"
	case 3:
		return groups(a+1) + "::" + groups(b%6+1) + ":" + g.v4()
	case 4:
		return groups(a+1) + ":" + g.v4()
	case 5:
		return g.pick("", ":", "::", ":::", "::::", ".", "...", "0", "00", "0.0.0", "::%", "%", "[", "]", "[]", "::0", "0::", "::.", "1::.1")
	case 6:
		return strings.Repeat("1.", a) + "1"
	default:
		return "::" + groups(a%6) + ":" + g.v4()
	}
}

func (g *ipGen) random() string {
	const alphabet = "0123456789abcdefABCDEFxg:.%:[]/ -_\t"
	n := g.r.IntN(46)
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[g.r.IntN(len(alphabet))]
	}
	return string(b)
}

func BenchmarkIsIP(b *testing.B) {
	cases := []struct{ name, in string }{
		{"v4", "192.168.100.200"},
		{"v6-full", "2001:0db8:85a3:0000:0000:8a2e:0370:7334"},
		{"v6-compressed", "2001:db8::8a2e:370:7334"},
		{"v6-v4tail-zone", "::ffff:192.168.1.1%eth0"},
		{"hostname", "host12345.example.com"},
		{"near-miss", "256.1.2.3"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.in)))
			for b.Loop() {
				IsIP(c.in)
			}
		})
	}
	b.Run("corpus", func(b *testing.B) {
		corpus := ipCorpus(4096, 3)
		var n int64
		for _, s := range corpus {
			n += int64(len(s))
		}
		b.SetBytes(n / int64(len(corpus)))
		i := 0
		for b.Loop() {
			IsIP(corpus[i&4095])
			i++
		}
	})
}
