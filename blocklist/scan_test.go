package blocklist

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// testAddresses are addresses of each family, as a rule file may write
// them: edge values, every length of octet and group, either case, "::"
// in each place, IPv4 parts; and some that no reader accepts.
func testAddresses() (v4, v6 []string) {
	v4 = []string{
		"0.0.0.0", "255.255.255.255", "1.2.3.4", "10.0.0.255", "100.20.3.0", "9.99.199.249",
		"192.168.1.1", "0.10.100.200",
		// refused
		"256.1.1.1", "1.2.3.256", "01.2.3.4", "1.2.3.04", "1.00.2.3", "1.2.3", "1.2.3.4.5",
		"1..2.3", "1.2.3.", ".1.2.3", "1.2.3.1000", "1234.1.1.1", "1.2.3.4a", "-1.2.3.4", "",
		"1.2.3.4 ", " 1.2.3.4", "::1", "1.2.3.4:80", "999.1.1.1", "1.2.03.4", "1.2.3x4", "1.2x3.4", "1x2.3.4",
		"255.255.255.2555", "1.2.3.4444", "1.2.3.4.", "1.2.3.-4", "1.2.3\x004",
	}
	v6 = []string{
		"::", "::1", "1::", "1::2", "::ffff:1.2.3.4", "::ffff:0.0.0.0", "::1.2.3.4",
		"0:0:0:0:0:ffff:102:304", "1:2:3:4:5:6:7:8", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		"FFFF:ABCD:Ef01::", "0001:0002:0003:0004:0005:0006:0007:0008", "a:bc:def:1234::",
		"1:2:3:4:5:6:1.2.3.4", "1::2:3:4:5:6:7", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8",
		"2001:db8::/", "2001:db8:0:0:1::1", "fe80::", "::ffff:255.255.255.255", "0::0",
		// refused
		"1::2::3", "12345::", "1:2:3:4:5:6:7:8:9", ":1::", "1:::2", ":::", "1:2:3:4:5:6:7:8::",
		"::1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7", "1:", ":1", "g::", "::ffff:1.2.3.256",
		"::ffff:01.2.3.4", "1:2:3:4:5:6:7:1.2.3.4", "::1.2.3", "fe80::1%eth0", "1.2.3.4", "",
		"::ffff:1.2.3.4.5", "::1:", "1::2:",
	}
	return v4, v6
}

// testRuleStrings are rule strings of every kind and family made of
// testAddresses, prefixes at and past the limits, other spellings, and
// random ones: valid or not.
func testRuleStrings() []string {
	v4, v6 := testAddresses()
	var out []string
	for _, fam := range []struct {
		name     string
		addrs    []string
		prefixes []string
	}{
		{"IPv4", v4, []string{"0", "1", "9", "10", "24", "32", "33", "00", "01", "032", "100", "1000", "", "-1", "+1", "2a"}},
		{"IPv6", v6, []string{"0", "7", "64", "99", "100", "128", "129", "00", "064", "1280", "", "200"}},
	} {
		for i, a := range fam.addrs {
			out = append(out, "Address: "+fam.name+" "+a)
			out = append(out, "Subnet: "+fam.name+" "+a+"/"+fam.prefixes[i%len(fam.prefixes)])
			for _, p := range fam.prefixes {
				if i < 3 {
					out = append(out, "Subnet: "+fam.name+" "+a+"/"+p)
				}
			}
			for j, b := range fam.addrs {
				if (i+j)%3 == 0 || i < 2 {
					out = append(out, "Range: "+fam.name+" "+a+"-"+b)
				}
			}
		}
	}
	out = append(out,
		"Address: IPv4 1.2.3.4\x00", "Address:  IPv4 1.2.3.4", "Address: IPv5 1.2.3.4", "address: IPv4 1.2.3.4",
		"Address: ipv4 1.2.3.4", "Address: IPv6 1.2.3.4", "Address: IPv4 ::1", "Subnet: IPv4 1.2.3.4",
		"Range: IPv4 1.2.3.4", "Range: IPv4 1.2.3.4-", "Range: IPv4 1.2.3.5-1.2.3.4", "Range: IPv6 ::2-::1",
		"Range: IPv4 1.2.3.4-1.2.3.4", "Range: IPv4 1.2.3.4--1.2.3.5", "Subnet: IPv4 1.2.3.4//8",
		"Address: IPv4 1.2.3.4 ", "Subnet: IPv6 fe80::1%eth0/64", "Range: IPv6 fe80::1%a-b-fe80::2",
		"Address: IPv4", "Address: IPv4 ", "Range: I", "", "Subnet: IPv4 1.2.3.4/8/8", "Address: IPv6 ::1/1",
	)
	// Random rules as Node writes them, with their host bits.
	r := rand.New(rand.NewPCG(5, 5))
	for range 3000 {
		v := r.Uint32() >> (r.IntN(4) * 8)
		hi, lo := r.Uint64()>>(r.IntN(4)*16), r.Uint64()>>(r.IntN(4)*16)
		if r.IntN(5) == 0 {
			hi = 0
		}
		if r.IntN(5) == 0 {
			lo = r.Uint64() << (r.IntN(4) * 16)
		}
		if r.IntN(7) == 0 {
			hi, lo = 0, 0xffff<<32|uint64(v)
		}
		var rule Rule
		switch r.IntN(6) {
		case 0:
			rule = Rule{Kind: AddressRule, Start: addr4(v)}
		case 1:
			rule = Rule{Kind: RangeRule, Start: addr4(v), End: addr4(v + min(r.Uint32()>>r.IntN(32), ^v))}
		case 2:
			rule = Rule{Kind: SubnetRule, Start: addr4(v), Prefix: r.IntN(33)}
		case 3:
			rule = Rule{Kind: AddressRule, Start: addr6(hi, lo)}
		case 4:
			rule = Rule{Kind: RangeRule, Start: addr6(hi, lo), End: addr6(hi, lo+min(r.Uint64()>>r.IntN(64), ^lo))}
		default:
			rule = Rule{Kind: SubnetRule, Start: addr6(hi, lo), Prefix: r.IntN(129)}
		}
		out = append(out, rule.String())
	}
	return out
}

// TestFastRule checks that fastRule reads every rule string as quickRule
// does: the same rules, read the same, whatever follows the closing quote.
func TestFastRule(t *testing.T) {
	seen := map[string]int{}
	for _, s := range testRuleStrings() {
		if strings.ContainsAny(s, `"\`) {
			continue
		}
		for _, pad := range []string{" ", "9", ":", ".", "a", "\x00", `"`} {
			buf := []byte(`"` + s + `"` + strings.Repeat(pad, fastMargin))
			want, wantNext, wantOK := quickRule(buf[:len(s)+2], 1)
			var got crule
			next := fastRule(buf, 1, &got)
			ok := next != 0
			if ok != wantOK || got != want || next != wantNext {
				t.Fatalf("fastRule(%q) = %v, %d, %v; quickRule: %v, %d, %v", s, got, next, ok, want, wantNext, wantOK)
			}
			if ok {
				seen[fmt.Sprintf("%v %v", got.kind, got.v4)]++
			}
		}
	}
	// Every kind of each family was read.
	if len(seen) != 6 {
		t.Fatalf("read %v", seen)
	}
}

// TestFastIPv4 checks fastIPv4 against scanIPv4, which quickRule reads
// IPv4 addresses with, on each test address followed by other bytes.
func TestFastIPv4(t *testing.T) {
	v4, _ := testAddresses()
	r := rand.New(rand.NewPCG(9, 9))
	for range 2000 {
		v4 = append(v4, fmt.Sprintf("%d.%d.%d.%d", r.IntN(1100), r.IntN(300), r.IntN(260), r.IntN(2600)))
	}
	for _, a := range v4 {
		for _, after := range []string{"", "0", "9", ".", ":", "\"", "/", "-"} {
			s := []byte(a + after + strings.Repeat(" ", 24))
			want, wantNext, wantOK := scanIPv4(s, 0)
			if wantOK && s[wantNext]-'0' <= 9 {
				wantOK = false // another digit makes it something else
			}
			got, next, ok := fastIPv4(s, 0)
			if ok != wantOK || ok && (got != want || next != wantNext) {
				t.Fatalf("fastIPv4(%q) = %x, %d, %v; scanIPv4: %x, %d, %v", a+after, got, next, ok, want, wantNext, wantOK)
			}
		}
	}
}

// TestFastIPv6 checks fastIPv6 against scanIPv6 on each test address,
// and on random ones of each form, followed by other bytes.
func TestFastIPv6(t *testing.T) {
	_, v6 := testAddresses()
	r := rand.New(rand.NewPCG(10, 10))
	hexDigits := "0123456789abcdefABCDEF"
	for range 3000 {
		// One to nine groups of zero to five digits, with ':' or "::"
		// between them.
		var b strings.Builder
		for k := range 1 + r.IntN(9) {
			if k > 0 {
				b.WriteString([]string{":", ":", ":", "::"}[r.IntN(4)])
			}
			for range r.IntN(6) {
				b.WriteByte(hexDigits[r.IntN(len(hexDigits))])
			}
		}
		if r.IntN(4) == 0 {
			b.WriteString("::")
		}
		v6 = append(v6, b.String())
	}
	fast := 0
	for _, a := range v6 {
		for _, after := range []string{"", "\"", "/", "-", ":", ".", "g", "0", "::", ":1", ".1"} {
			s := []byte(a + after + strings.Repeat(" ", 56))
			wantHi, wantLo, wantNext, wantOK := scanIPv6(s, 0)
			hi, lo, next, ok := fastIPv6(s, 0)
			if ok != wantOK || ok && (hi != wantHi || lo != wantLo || next != wantNext) {
				t.Fatalf("fastIPv6(%q) = %x %x, %d, %v; scanIPv6: %x %x, %d, %v", a+after, hi, lo, next, ok, wantHi, wantLo, wantNext, wantOK)
			}
			if ok {
				fast++
			}
		}
	}
	if fast < 1000 {
		t.Fatalf("only %d addresses read", fast)
	}
}

// slowSink hides a sink from scanFast: scanElements then reads every
// element with the general reader.
type slowSink struct{ ruleSink }

// testFiles are rule files made of the strings: written as Node and as
// Format write them, compact, with other space, with escapes; each also
// cut short and with a bad element in the middle.
func testFiles(strs []string) [][]byte {
	var files [][]byte
	add := func(data []byte) {
		files = append(files, data, data[:len(data)*2/3])
		// Bad separators in the middle: after a closing quote, or in
		// place of a comma.
		if i := bytes.Index(data[len(data)/2:], []byte(`",`)); i >= 0 {
			i += len(data)/2 + 1
			for _, bad := range []string{` x`, `x`, ` ]`, `]`, `,`, ` "a"`, `:`} {
				files = append(files, slices.Concat(data[:i], []byte(bad), data[i:]))
			}
			files = append(files, slices.Concat(data[:i], []byte(` `), data[i+1:]))
			// The next element's opening quote replaced.
			if j := bytes.IndexByte(data[i:], '"'); j >= 0 {
				j += i
				files = append(files, slices.Concat(data[:j], []byte(`x`), data[j+1:]))
			}
		}
	}
	for _, indent := range []string{" ", "  ", "\t", ""} {
		data, err := json.MarshalIndent(strs, "", indent)
		if err != nil {
			panic(err)
		}
		add(append(data, '\n'))
	}
	data, _ := json.Marshal(strs)
	add(data)
	add(bytes.ReplaceAll(data, []byte(`","`), []byte("\",\r\n\t \"")))
	add(bytes.ReplaceAll(data, []byte(`","`), []byte("\" , \"")))
	add(bytes.ReplaceAll(data, []byte(`Address`), []byte(`\u0041ddress`)))
	return files
}

// TestScanFast checks that reading a rule file with the fast paths gives
// what the general reader gives, for each kind of sink: the same rules in
// the same order, the same intervals, the same error at the same offset.
func TestScanFast(t *testing.T) {
	all := testRuleStrings()
	var valid []string
	for _, s := range all {
		if _, err := parseRuleString(s); err == nil {
			valid = append(valid, s)
		}
	}
	files := testFiles(valid)
	// Files with each refused rule, among valid ones: a prefix of the
	// valid ones, long enough for the fast path to read them first.
	for i, s := range all {
		if _, err := parseRuleString(s); err != nil && i%5 == 0 {
			strs := slices.Concat(valid[:40], []string{s}, valid[40:80])
			data, _ := json.MarshalIndent(strs, "", " ")
			files = append(files, data)
		}
	}
	for _, data := range files {
		for _, open := range []bool{true, false} {
			i := 0
			if !open {
				// A part that starts after a comma, as the second half of
				// a file read in halves does.
				i = bytes.Index(data, []byte(",")) + 1
			}
			var list, slowList ruleList
			err := scanElements(data, i, len(data), open, true, &list)
			slowErr := scanElements(data, i, len(data), open, true, slowSink{&slowList})
			if !reflect.DeepEqual(err, slowErr) || !slices.Equal(list, slowList) {
				t.Fatalf("%.60q...: %d rules, %v; general reader: %d rules, %v", data, len(list), err, len(slowList), slowErr)
			}
			var sp, slowSp spans
			err = scanElements(data, i, len(data), open, true, &sp)
			slowErr = scanElements(data, i, len(data), open, true, slowSink{&slowSp})
			if !reflect.DeepEqual(err, slowErr) || !slices.Equal(sp.v4, slowSp.v4) || !slices.Equal(sp.v6, slowSp.v6) {
				t.Fatalf("%.60q...: spans differ, %v; general reader: %v", data, err, slowErr)
			}
			var fb, slowFb fileBatch
			err = scanElements(data, i, len(data), open, true, &fb)
			slowErr = scanElements(data, i, len(data), open, true, slowSink{&slowFb})
			if !reflect.DeepEqual(err, slowErr) || !reflect.DeepEqual(fb, slowFb) {
				t.Fatalf("%.60q...: batches differ, %v; general reader: %v", data, err, slowErr)
			}
		}
	}
	// The fast path reads every rule of a file as Node writes them but
	// the last, which are too near the end: the test above compared it
	// with the general reader on most of them.
	var node []string
	for _, s := range valid {
		c, _ := parseRuleString(s)
		node = append(node, string(c.appendString(nil)))
	}
	data, _ := json.MarshalIndent(node, "", " ")
	var l ruleList
	if n := scanFast(data, 1, &l); n < len(data)-fastMargin-200 || len(l) < len(node)-3 {
		t.Fatalf("the fast path read %d of %d rules, to offset %d of %d", len(l), len(node), n, len(data))
	}
}

// addOld is what spans.add was before it computed intervals without a
// branch on the kind: the model the new one is checked against.
func addOld(s *spans, c crule) {
	a := u128{c.start().hi, c.start().lo}
	switch c.kind {
	case AddressRule:
		if !c.start().v4 {
			s.v6 = append(s.v6, span6{a, a})
		}
		if c.start().v4 || c.start().mapped() {
			v := c.start().v4value()
			s.v4 = append(s.v4, span4(v, v))
		}
	case RangeRule:
		if !c.start().v4 {
			s.v6 = append(s.v6, span6{a, u128{c.end().hi, c.end().lo}})
		}
		if c.start().v4 || c.start().mapped() && c.end().mapped() {
			s.v4 = append(s.v4, span4(c.start().v4value(), c.end().v4value()))
		}
	case SubnetRule:
		p := int(c.prefix)
		if c.start().v4 {
			m := mask32(p)
			v := c.start().v4value()
			s.v4 = append(s.v4, span4(v&m, v|^m))
			return
		}
		m := mask128(p)
		lo := u128{a.hi & m.hi, a.lo & m.lo}
		s.v6 = append(s.v6, span6{lo, u128{a.hi | ^m.hi, a.lo | ^m.lo}})
		switch {
		case p <= 96:
			if mappedHi&m.hi == lo.hi && mappedLo&m.lo == lo.lo {
				s.v4 = append(s.v4, span4(0, ^uint32(0)))
			}
		case c.start().mapped():
			m4 := mask32(p - 96)
			v := c.start().v4value()
			s.v4 = append(s.v4, span4(v&m4, v|^m4))
		}
	}
}

// TestSpansAdd checks the intervals of every kind of rule against the
// model: each prefix length, mapped addresses and networks, ranges with
// mapped ends or not.
func TestSpansAdd(t *testing.T) {
	var rules []crule
	for _, s := range testRuleStrings() {
		if c, err := parseRuleString(s); err == nil {
			rules = append(rules, c)
		}
	}
	addrs := []netip.Addr{
		netip.MustParseAddr("0.0.0.0"), netip.MustParseAddr("255.255.255.255"), netip.MustParseAddr("10.1.2.3"),
		netip.MustParseAddr("::"), netip.MustParseAddr("::ffff:10.1.2.3"), netip.MustParseAddr("::ffff:0:0"),
		netip.MustParseAddr("::fffe:ffff:ffff"), netip.MustParseAddr("::1:0:0:0"), netip.MustParseAddr("0:0:0:1::"),
		netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("ffff::"), netip.MustParseAddr("::10.1.2.3"),
	}
	for _, a := range addrs {
		for p := 0; p <= a.BitLen(); p++ {
			c, err := compile(Rule{Kind: SubnetRule, Start: a, Prefix: p})
			if err != nil {
				t.Fatal(err)
			}
			rules = append(rules, c)
		}
		c, _ := compile(Rule{Kind: AddressRule, Start: a})
		rules = append(rules, c)
		for _, b := range addrs {
			if c, err := compile(Rule{Kind: RangeRule, Start: a, End: b}); err == nil {
				rules = append(rules, c)
			}
		}
	}
	for _, c := range rules {
		var got, want spans
		got.add(c)
		addOld(&want, c)
		if !slices.Equal(got.v4, want.v4) || !slices.Equal(got.v6, want.v6) {
			t.Fatalf("%s: %x %x, want %x %x", c.appendString(nil), got.v4, got.v6, want.v4, want.v6)
		}
	}
}

// FuzzFastRule checks fastRule against quickRule on any string, with any
// bytes after it.
func FuzzFastRule(f *testing.F) {
	for _, s := range []string{
		"Address: IPv4 1.2.3.4", "Subnet: IPv4 10.0.0.0/8", "Range: IPv4 1.2.3.4-1.2.3.5", "Address: IPv6 ::1",
		"Subnet: IPv6 2001:db8::/32", "Range: IPv6 ::1-::ffff:1.2.3.4", "Address: IPv4 01.2.3.4",
		"Subnet: IPv4 1.2.3.4/033", "Address: IPv4 255.255.255.256", "Address: IPv6 1:22:333:4444:a:Bc:dEf:0",
		"Subnet: IPv6 1:2:3::/48", "Range: IPv6 1:2:3:4:5:6:7:8-1:2:3:4:5:6:7:9", "Subnet: IPv6 1:2:3:4:5:6::/96",
	} {
		f.Add(s, "\",\n")
	}
	f.Fuzz(func(t *testing.T, s, after string) {
		buf := []byte(`"` + s + after + strings.Repeat(" ", fastMargin))
		want, wantNext, wantOK := quickRule(buf[:len(s)+1+len(after)], 1)
		var got crule
		next := fastRule(buf, 1, &got)
		ok := next != 0
		if ok != wantOK || got != want || next != wantNext {
			t.Fatalf("fastRule(%q) = %v, %d, %v; quickRule: %v, %d, %v", s+after, got, next, ok, want, wantNext, wantOK)
		}
	})
}

// FuzzScanFast checks that each reader of rule files reads any data with
// the fast paths as the general reader does: the same rules, intervals
// and error. The seeds are long enough for the fast paths to read them.
func FuzzScanFast(f *testing.F) {
	strs := testRuleStrings()
	var valid []string
	for _, s := range strs[len(strs)-200:] {
		if _, err := parseRuleString(s); err == nil {
			valid = append(valid, s)
		}
	}
	data, _ := json.MarshalIndent(valid[:40], "", " ")
	f.Add(data)
	data, _ = json.Marshal(valid[40:80])
	f.Add(data)
	f.Add([]byte(`["Address: IPv4 1.2.3.4", "Subnet: IPv6 ::/0", "Range: IPv4 1.1.1.1-1.1.1.2", "Address: IPv6 ::ffff:1.2.3.4", "Subnet: IPv4 10.0.0.0/8", "Range: IPv6 ::1-::2", "Address: IPv4 255.255.255.255"]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var list, slowList ruleList
		err := scanElements(data, 0, len(data), true, true, &list)
		slowErr := scanElements(data, 0, len(data), true, true, slowSink{&slowList})
		if !reflect.DeepEqual(err, slowErr) || !slices.Equal(list, slowList) {
			t.Fatalf("%d rules, %v; general reader: %d rules, %v", len(list), err, len(slowList), slowErr)
		}
		var sp, slowSp spans
		err = scanElements(data, 0, len(data), true, true, &sp)
		slowErr = scanElements(data, 0, len(data), true, true, slowSink{&slowSp})
		if !reflect.DeepEqual(err, slowErr) || !slices.Equal(sp.v4, slowSp.v4) || !slices.Equal(sp.v6, slowSp.v6) {
			t.Fatalf("spans differ: %v; general reader: %v", err, slowErr)
		}
		var fb, slowFb fileBatch
		err = scanElements(data, 0, len(data), true, true, &fb)
		slowErr = scanElements(data, 0, len(data), true, true, slowSink{&slowFb})
		if !reflect.DeepEqual(err, slowErr) || !reflect.DeepEqual(fb, slowFb) {
			t.Fatalf("batches differ: %v; general reader: %v", err, slowErr)
		}
	})
}
