package blocklist

import (
	"bytes"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// FuzzParseAddress checks the address parser: it never panics; what it
// reads prints back as what it read; and where Go's net/netip also applies
// (no zone, no NUL), the two agree, as they do on inet_pton's rules.
func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{
		"1.2.3.4", "01.2.3.4", "255.255.255.255", "::", "::1", "::ffff:1.2.3.4", "::ffff:01.2.3.4",
		"fe80::1%eth0", "1:2:3:4:5:6:7::", "1:2:3:4:5:6:1.2.3.4", "00000::1", "1::2::3", ":::",
		"0000:0000:0000:0000:0000:0000:0000:00001%x", "1.2.3.4\x00x", "::1.2.3.4:5", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, v4 := range []bool{true, false} {
			a, ok := parseAddress(s, v4)
			if !ok {
				if !strings.ContainsAny(s, "%\x00") {
					if n, err := netip.ParseAddr(s); err == nil && n.Is4() == v4 && n.Zone() == "" {
						t.Errorf("parseAddress(%q, v4=%v) refused what netip reads as %v", s, v4, n)
					}
				}
				continue
			}
			if a.v4 != v4 {
				t.Fatalf("parseAddress(%q, v4=%v) gave family v4=%v", s, v4, a.v4)
			}
			back, ok := parseAddress(a.String(), v4)
			if !ok || back != a {
				t.Fatalf("parseAddress(%q) = %v, which reads back as %v, %v", s, a, back, ok)
			}
			if !strings.ContainsAny(s, "%\x00") {
				n, err := netip.ParseAddr(s)
				if err != nil || n.Is4() != v4 {
					t.Fatalf("parseAddress(%q, v4=%v) = %v, netip: %v, %v", s, v4, a, n, err)
				}
				if want, _ := ipFromNetip(n); want != a {
					t.Fatalf("parseAddress(%q) = %v, netip %v", s, a, n)
				}
			}
			bs, ok := parseAddress([]byte(s), v4)
			if !ok || bs != a {
				t.Fatalf("the []byte parser disagrees on %q", s)
			}
		}
	})
}

// FuzzParseRule checks the single-rule syntax: no panic, and a rule reads
// back from its rule string.
func FuzzParseRule(f *testing.F) {
	for _, s := range []string{
		"10.0.0.5", "::1", "10.0.0.1-10.0.0.10", "10.0.0.0/8", "2001:db8::/32", "Subnet: IPv4 10.0.0.0/8",
		"Address: IPv6 ::ffff:1.2.3.4", "Range: IPv6 ::1-::f", "subnet: ipv6 ::/0", "10.0.0.0/-0",
		"fe80::1%a-b-fe80::2", "Address:1.2.3.4", "1.2.3.4/99999999999999999999",
	} {
		f.Add(s, "")
		f.Add(s, "IPv6")
	}
	f.Fuzz(func(t *testing.T, s, family string) {
		// The rule file's quick reader accepts only what the general one
		// reads, and reads it the same. s is put between quotes as it is,
		// so it must hold no quote or escape of its own: the JSON string
		// would end, or mean, something else.
		if q, next, ok := quickRule([]byte(`"`+s+`"`), 1); ok && !strings.ContainsAny(s, `"\`) {
			c, err := parseRuleString(s)
			if err != nil || c != q || next != len(s)+2 {
				t.Fatalf("quickRule(%q) = %v, %d; parseRuleString: %v, %v", s, q.rule(), next, c.rule(), err)
			}
		}
		r, err := ParseRuleFamily(s, family)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("ParseRuleFamily(%q, %q): %T %v, want *Error", s, family, err, err)
			}
			return
		}
		str := r.String()
		back, err := ParseRule(str)
		if err != nil || back != r {
			t.Fatalf("ParseRuleFamily(%q) = %s, which reads back as %v, %v", s, str, back, err)
		}
		if c, err := parseRuleString([]byte(str)); err != nil || c.rule() != r {
			t.Fatalf("the rule file reader reads %q as %v, %v", str, c.rule(), err)
		}
		b := New()
		if err := b.Add(r); err != nil {
			t.Fatalf("Add(%s): %v", str, err)
		}
		if got := b.Rules(); !slices.Equal(got, []string{str}) {
			t.Fatalf("Rules() = %q, want [%q]", got, str)
		}
	})
}

// FuzzRuleFile checks the rule file reader: no panic, errors are
// *FileError with a position, and a file it reads writes back as one it
// reads the same.
func FuzzRuleFile(f *testing.F) {
	f.Add([]byte("[\n  \"Address: IPv4 1.2.3.4\",\n  \"Subnet: IPv6 ::/0\",\n  \"Range: IPv4 1.1.1.1-1.1.1.2\"\n]\n"))
	f.Add([]byte(`["\u0041ddress: IPv4 1.2.3.4"]`))
	f.Add([]byte(`[1]`))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := Parse(data)
		if err != nil {
			if fe, ok := err.(*FileError); !ok || fe.Line < 1 || fe.Col < 1 {
				t.Fatalf("Parse: %T %v, want a *FileError with a position", err, err)
			}
			return
		}
		out := Format(b)
		b2, err := Parse(out)
		if err != nil {
			t.Fatalf("cannot read back %q: %v", out, err)
		}
		if !bytes.Equal(Format(b2), out) {
			t.Fatalf("%q reads back as %q", out, Format(b2))
		}
	})
}
