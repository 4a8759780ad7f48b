package blocklist

import (
	"errors"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync"
	"testing"
)

// These tables come from Node's documentation and its
// test/parallel/test-blocklist.js, and from probing Node v26 (the expected
// strings and orders below were printed by it).

func TestNodeDocsExample(t *testing.T) {
	b := New()
	must(t, b.AddAddress("123.123.123.123", ""))
	must(t, b.AddRange("10.0.0.1", "10.0.0.10", ""))
	must(t, b.AddSubnet("8592:757c:efae:4e45::", 64, "ipv6"))
	for _, c := range []struct {
		addr, family string
		want         bool
	}{
		{"123.123.123.123", "", true},
		{"10.0.0.3", "", true},
		{"222.111.111.222", "", false},
		{"::ffff:7b7b:7b7b", "ipv6", true},
		{"::ffff:123.123.123.123", "ipv6", true},
	} {
		if got, _ := b.Check(c.addr, c.family); got != c.want {
			t.Errorf("check(%q, %q) = %v, want %v", c.addr, c.family, got, c.want)
		}
	}
	want := []string{
		"Address: IPv4 123.123.123.123",
		"Subnet: IPv6 8592:757c:efae:4e45::/64",
		"Range: IPv4 10.0.0.1-10.0.0.10",
	}
	if got := b.Rules(); !slices.Equal(got, want) {
		t.Errorf("rules = %q, want %q", got, want)
	}
}

func TestNodeTestChecks(t *testing.T) {
	type check struct {
		addr, family string
		want         bool
	}
	cases := []struct {
		name   string
		setup  func(*BlockList) error
		checks []check
	}{
		{"addresses", func(b *BlockList) error {
			return errors.Join(b.AddAddress("1.1.1.1", ""),
				b.AddAddress("8592:757c:efae:4e45:fb5d:d62a:0d00:8e17", "ipv6"),
				b.AddAddress("::ffff:1.1.1.2", "ipv6"))
		}, []check{
			{"1.1.1.1", "", true}, {"1.1.1.1", "ipv6", false},
			{"8592:757c:efae:4e45:fb5d:d62a:0d00:8e17", "", false},
			{"8592:757c:efae:4e45:fb5d:d62a:0d00:8e17", "ipv6", true},
			{"::ffff:1.1.1.1", "ipv6", true}, {"::ffff:1.1.1.1", "IPV6", true},
			{"1.1.1.2", "", true}, {"1.2.3.4", "", false}, {"::1", "ipv6", false},
		}},
		{"ranges", func(b *BlockList) error {
			return errors.Join(b.AddRange("1.1.1.1", "1.1.1.10", ""), b.AddRange("::1", "::f", "ipv6"))
		}, []check{
			{"1.1.1.0", "", false}, {"1.1.1.1", "", true}, {"1.1.1.10", "", true}, {"1.1.1.11", "", false},
			{"::0", "ipv6", false}, {"::1", "ipv6", true}, {"::f", "ipv6", true}, {"::10", "ipv6", false},
		}},
		{"subnets", func(b *BlockList) error {
			return errors.Join(b.AddSubnet("1.1.1.0", 16, ""), b.AddSubnet("8592:757c:efae:4e45::", 64, "ipv6"))
		}, []check{
			{"1.1.0.1", "", true}, {"1.1.1.1", "", true}, {"1.2.0.1", "", false},
			{"::ffff:1.1.0.1", "ipv6", true},
			{"8592:757c:efae:4e45:f::", "ipv6", true}, {"8592:757c:efae:4e45::f", "ipv6", true},
			{"8592:757c:efae:4f45::f", "ipv6", false},
		}},
		{"non-aligned prefixes", func(b *BlockList) error {
			return errors.Join(b.AddSubnet("10.0.0.0", 27, ""), b.AddSubnet("8592:757c:efaf::", 51, "ipv6"))
		}, []check{
			{"10.0.0.0", "", true}, {"10.0.0.31", "", true}, {"10.0.0.32", "", false},
			{"8592:757c:efaf:0:0:0:0:0", "ipv6", true},
			{"8592:757c:efaf:1fff:ffff:ffff:ffff:ffff", "ipv6", true},
			{"8592:757c:efaf:2fff:ffff:ffff:ffff:ffff", "ipv6", false},
		}},
		{"nodejs/node#39074", func(b *BlockList) error { return b.AddRange("10.0.0.2", "10.0.0.10", "") }, []check{
			{"10.0.0.2", "", true}, {"10.0.0.10", "", true}, {"192.168.0.3", "", false},
			{"2.2.2.2", "", false}, {"255.255.255.255", "", false},
			{"::ffff:0a00:0002", "ipv6", true}, {"::ffff:0a00:000a", "ipv6", true},
			{"::ffff:c0a8:0003", "ipv6", false}, {"::ffff:0202:0202", "ipv6", false},
			{"::ffff:ffff:ffff", "ipv6", false},
		}},
		{"nodejs/node#43360 /32", func(b *BlockList) error { return b.AddSubnet("1.1.1.1", 32, "ipv4") }, []check{
			{"1.1.1.1", "", true}, {"1.1.1.2", "", false}, {"2.3.4.5", "", false},
		}},
		// Probed on v26: IPv6 rules and IPv4 checks meet only through
		// ::ffff:0:0/96.
		{"::/0 blocks IPv4", func(b *BlockList) error { return b.AddSubnet("::", 0, "ipv6") }, []check{
			{"1.2.3.4", "", true}, {"::1", "ipv6", true},
		}},
		{"0.0.0.0/0 blocks mapped IPv6 only", func(b *BlockList) error { return b.AddSubnet("0.0.0.0", 0, "") }, []check{
			{"1.2.3.4", "", true}, {"::1", "ipv6", false}, {"::ffff:1.2.3.4", "ipv6", true},
		}},
		{"IPv6 range with one mapped end", func(b *BlockList) error {
			return b.AddRange("::fffe:ffff:ffff", "::ffff:1.2.3.4", "ipv6")
		}, []check{{"1.0.0.0", "", false}, {"::ffff:1.0.0.0", "ipv6", true}}},
		{"IPv6 range with mapped ends", func(b *BlockList) error {
			return b.AddRange("::ffff:1.0.0.0", "::ffff:2.0.0.0", "ipv6")
		}, []check{{"1.5.0.0", "", true}, {"3.0.0.0", "", false}}},
		{"IPv4 range and IPv4-compatible IPv6", func(b *BlockList) error { return b.AddRange("1.0.0.0", "2.0.0.0", "") }, []check{
			{"::ffff:1.5.0.0", "ipv6", true}, {"::1.5.0.0", "ipv6", false},
		}},
		{"mapped IPv6 subnet", func(b *BlockList) error { return b.AddSubnet("::ffff:1.2.0.0", 112, "ipv6") }, []check{
			{"1.2.3.4", "", true}, {"1.3.0.0", "", false},
		}},
		{"::/64 holds ::ffff:0:0/96", func(b *BlockList) error { return b.AddSubnet("::", 64, "ipv6") }, []check{{"1.2.3.4", "", true}}},
		{"::ffff:0:0/95", func(b *BlockList) error { return b.AddSubnet("::ffff:0:0", 95, "ipv6") }, []check{
			{"1.2.3.4", "", true}, {"::fffe:0:1", "ipv6", true},
		}},
		{"zone ignored, NUL ends", func(b *BlockList) error {
			return errors.Join(b.AddAddress("fe80::1", "ipv6"), b.AddAddress("::", "ipv6"), b.AddSubnet("10.0.0.0", 8, ""))
		}, []check{
			{"fe80::1%eth0", "ipv6", true}, {"fe80::1%", "ipv6", true},
			{"0000:0000:0000:0000:0000:0000:0000:0000000000000000001%x", "ipv6", true},
			{"10.1.1.1\x00zz", "", true}, {"10.0.0.1 ", "", false}, {" 10.0.0.1", "", false},
			{"10.0.0.1%x", "ipv4", false},
		}},
		{"family as Node reads it in check", func(b *BlockList) error { return b.AddAddress("1.2.3.4", "") }, []check{
			{"::ffff:1.2.3.4", "ipv4", false}, {"1.2.3.4", "IPV4", true}, {"1.2.3.4", "ipv6", false},
			{"1.2.3.4", "bogus", false}, {"::ffff:1.2.3.4", "bogus", true}, {"::FFFF:102:304", "ipv6", true},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := New()
			must(t, c.setup(b))
			for _, k := range c.checks {
				if got, _ := b.Check(k.addr, k.family); got != k.want {
					t.Errorf("check(%q, %q) = %v, want %v", k.addr, k.family, got, k.want)
				}
			}
		})
	}
}

func TestErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		do   func(*BlockList) error
		code string
		msg  string
	}{
		{"family", func(b *BlockList) error { return b.AddAddress("1.2.3.4", "foo") }, "ERR_INVALID_ARG_VALUE", "The property 'options.family' is invalid. Received 'foo'"},
		{"family quoted", func(b *BlockList) error { return b.AddAddress("1.2.3.4", "it's") }, "ERR_INVALID_ARG_VALUE", `The property 'options.family' is invalid. Received "it's"`},
		{"address", func(b *BlockList) error { return b.AddAddress("1.2.3.256", "") }, "ERR_INVALID_ADDRESS", "Invalid socket address"},
		{"leading zero", func(b *BlockList) error { return b.AddAddress("01.2.3.4", "") }, "ERR_INVALID_ADDRESS", "Invalid socket address"},
		{"v6 as v4", func(b *BlockList) error { return b.AddAddress("::1", "ipv4") }, "ERR_INVALID_ADDRESS", "Invalid socket address"},
		{"range order", func(b *BlockList) error { return b.AddRange("1.1.1.2", "1.1.1.1", "") }, "ERR_INVALID_ARG_VALUE",
			"The argument 'start' must come before end. Received SocketAddress { address: '1.1.1.2', port: 0, family: 'ipv4', flowlabel: 0 }"},
		{"range order, long address", func(b *BlockList) error { return b.AddRange("::ffff:127.0.0.229", "::", "ipv6") }, "ERR_INVALID_ARG_VALUE",
			"The argument 'start' must come before end. Received SocketAddress {\n  address: '::ffff:127.0.0.229',\n  port: 0,\n  family: 'ipv6',\n  flowlabel: 0\n}"},
		{"prefix 33", func(b *BlockList) error { return b.AddSubnet("1.2.3.4", 33, "") }, "ERR_OUT_OF_RANGE",
			`The value of "prefix" is out of range. It must be >= 0 && <= 32. Received 33`},
		{"prefix -1", func(b *BlockList) error { return b.AddSubnet("1.2.3.4", -1, "") }, "ERR_OUT_OF_RANGE",
			`The value of "prefix" is out of range. It must be >= 0 && <= 32. Received -1`},
		{"prefix 129", func(b *BlockList) error { return b.AddSubnet("::", 129, "ipv6") }, "ERR_OUT_OF_RANGE",
			`The value of "prefix" is out of range. It must be >= 0 && <= 128. Received 129`},
		{"address before prefix", func(b *BlockList) error { return b.AddSubnet("x", 99, "") }, "ERR_INVALID_ADDRESS", "Invalid socket address"},
		{"huge prefix text", func(b *BlockList) error { _, err := ParseSubnet("1.2.3.4", "99999999999", ""); return err }, "ERR_OUT_OF_RANGE",
			`The value of "prefix" is out of range. It must be >= 0 && <= 32. Received 99_999_999_999`},
		{"prefix text", func(b *BlockList) error { _, err := ParseSubnet("1.2.3.4", "24x", ""); return err }, "ERR_OUT_OF_RANGE",
			`The value of "prefix" is out of range. It must be an integer. Received '24x'`},
		{"fromJSON type", func(b *BlockList) error { return b.FromJSON([]byte(`[1]`)) }, "ERR_INVALID_ARG_TYPE",
			`The "data" argument must be of type string or string[]. Received an instance of Array`},
		{"fromJSON object", func(b *BlockList) error { return b.FromJSON([]byte(`{}`)) }, "ERR_INVALID_ARG_TYPE",
			`The "data" argument must be of type string or string[]. Received an instance of Object`},
		{"fromJSON prefix", func(b *BlockList) error { return b.FromJSON([]byte(`["Subnet: IPv4 1.2.3.4/333"]`)) }, "ERR_OUT_OF_RANGE",
			`The value of "prefix" is out of range. It must be >= 0 && <= 32. Received 33`},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.do(New())
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v, want *Error", err)
			}
			if e.Code != c.code || e.Message != c.msg {
				t.Errorf("got %s: %q\nwant %s: %q", e.Code, e.Message, c.code, c.msg)
			}
		})
	}
}

func TestParseAddress(t *testing.T) {
	for _, c := range []struct {
		in   string
		v4   bool
		want string // Node's rule form; "" when invalid
	}{
		{"1.2.3.4", true, "1.2.3.4"},
		{"0.0.0.0", true, "0.0.0.0"},
		{"255.255.255.255", true, "255.255.255.255"},
		{"256.1.1.1", true, ""},
		{"01.2.3.4", true, ""},
		{"1.2.3.04", true, ""},
		{"1.2.3", true, ""},
		{"1.2.3.4.5", true, ""},
		{"1.2.3.4.", true, ""},
		{" 1.2.3.4", true, ""},
		{"1.2.3.4 ", true, ""},
		{"", true, ""},
		{"1.2.3.4%lo", true, ""},
		{"1.2.3.4\x00junk", true, "1.2.3.4"},
		{"::1", true, ""},
		{"::", false, "::"},
		{"::1", false, "::1"},
		{"::FFFF:1.2.3.4", false, "::ffff:1.2.3.4"},
		{"::ffff:01.2.3.4", false, ""},
		{"0:0:0:0:0:ffff:102:304", false, "::ffff:1.2.3.4"},
		{"::ffff:abcd", false, "::255.255.171.205"},
		{"::1.2.3.4", false, "::1.2.3.4"},
		{"::0.0.0.1", false, "::1"},
		{"::0.0.1.2", false, "::102"},
		{"::ffff:0:0", false, "::ffff:0.0.0.0"},
		{"64:ff9b::1.2.3.4", false, "64:ff9b::102:304"},
		{"fe80::1%eth0", false, "fe80::1"},
		{"fe80::1%", false, "fe80::1"},
		{"0000:0000:0000:0000:0000:0000:0000:00001%x", false, "::"},
		{"0000:0000:0000:0000:0000:0000:0000:00001", false, ""},
		{"00000::1", false, ""},
		{"0000::1", false, "::1"},
		{"1:2:3:4:5:6:7::", false, "1:2:3:4:5:6:7:0"},
		{"::1:2:3:4:5:6:7", false, "0:1:2:3:4:5:6:7"},
		{"1::2::3", false, ""},
		{":1::2", false, ""},
		{"1::2:", false, ""},
		{":::", false, ""},
		{"1:2:3:4:5:6:1.2.3.4", false, "1:2:3:4:5:6:102:304"},
		{"1:2:3:4:5:6:7:1.2.3.4", false, ""},
		{"::1.2.3.4:5", false, ""},
		{"1:0:0:1:0:0:0:1", false, "1:0:0:1::1"},
		{"1:0:0:0:1:0:0:1", false, "1::1:0:0:1"},
		{"1.2.3.4", false, ""},
		{"::g", false, ""},
	} {
		a, ok := parseAddress(c.in, c.v4)
		got := ""
		if ok {
			got = a.String()
		}
		if got != c.want {
			t.Errorf("parseAddress(%q, v4=%v) = %q, want %q", c.in, c.v4, got, c.want)
		}
	}
}

// TestRulesOrder checks listings Node v26 printed: address rules in the
// order of its hash table, then subnets and ranges newest first.
func TestRulesOrder(t *testing.T) {
	b := New()
	for _, a := range []string{"1.1.1.1", "9.9.9.9", "3.3.3.3", "7.7.7.7", "2.2.2.2"} {
		must(t, b.AddAddress(a, ""))
	}
	want := []string{"Address: IPv4 2.2.2.2", "Address: IPv4 3.3.3.3", "Address: IPv4 9.9.9.9", "Address: IPv4 7.7.7.7", "Address: IPv4 1.1.1.1"}
	if got := b.Rules(); !slices.Equal(got, want) {
		t.Errorf("rules = %q\nwant %q", got, want)
	}

	b = New()
	must(t, b.AddAddress("1.2.3.4", ""))
	must(t, b.AddRange("10.0.0.1", "10.0.0.10", ""))
	must(t, b.AddSubnet("192.168.1.7", 24, ""))
	must(t, b.AddAddress("::1", "ipv6"))
	must(t, b.AddRange("::1", "::5", "ipv6"))
	must(t, b.AddSubnet("::", 0, "ipv6"))
	must(t, b.AddAddress("5.6.7.8", ""))
	want = []string{
		"Address: IPv4 5.6.7.8", "Address: IPv4 1.2.3.4", "Address: IPv6 ::1",
		"Subnet: IPv6 ::/0", "Subnet: IPv4 192.168.1.7/24",
		"Range: IPv6 ::1-::5", "Range: IPv4 10.0.0.1-10.0.0.10",
	}
	if got := b.Rules(); !slices.Equal(got, want) {
		t.Errorf("rules = %q\nwant %q", got, want)
	}
	// One rule per address, in place, in the form added last.
	must(t, b.AddAddress("::ffff:1.2.3.4", "ipv6"))
	want[1] = "Address: IPv6 ::ffff:1.2.3.4"
	if got := b.Rules(); !slices.Equal(got, want) || b.Size() != 7 {
		t.Errorf("rules = %q (size %d)\nwant %q (size 7)", got, b.Size(), want)
	}
	must(t, b.AddAddress("1.2.3.4", ""))
	want[1] = "Address: IPv4 1.2.3.4"
	if got := b.Rules(); !slices.Equal(got, want) {
		t.Errorf("rules = %q\nwant %q", got, want)
	}
}

func TestRemove(t *testing.T) {
	b := New()
	must(t, b.AddSubnet("10.0.0.0", 8, ""))
	must(t, b.AddSubnet("10.1.0.0", 16, ""))
	must(t, b.AddSubnet("10.0.0.0", 8, ""))
	must(t, b.AddRange("1.1.1.1", "1.1.1.2", ""))
	must(t, b.AddAddress("::ffff:1.1.1.1", "ipv6"))
	must(t, b.AddAddress("2.2.2.2", ""))
	if !b.Remove(mustRule(t, "10.0.0.0/8")) || !b.Remove(mustRule(t, "1.1.1.1")) {
		t.Fatal("Remove found nothing")
	}
	if b.Remove(mustRule(t, "10.0.0.1/8")) || b.Remove(mustRule(t, "Range: IPv6 ::ffff:1.1.1.1-::ffff:1.1.1.2")) {
		t.Error("Remove removed a rule that does not match exactly")
	}
	want := []string{"Address: IPv4 2.2.2.2", "Subnet: IPv4 10.1.0.0/16", "Subnet: IPv4 10.0.0.0/8", "Range: IPv4 1.1.1.1-1.1.1.2"}
	if got := b.Rules(); !slices.Equal(got, want) {
		t.Errorf("rules = %q\nwant %q", got, want)
	}
	if ok, _ := b.Check("10.200.0.1", ""); !ok {
		t.Error("10.200.0.1 no longer blocked: the older 10.0.0.0/8 was removed too")
	}
	must(t, b.RemoveSubnet("10.0.0.0", 8, ""))
	if ok, _ := b.Check("10.200.0.1", ""); ok {
		t.Error("10.200.0.1 still blocked after both copies of 10.0.0.0/8 went")
	}
	if ok, _ := b.Check("10.1.0.1", ""); !ok {
		t.Error("10.1.0.1 not blocked by 10.1.0.0/16")
	}
	b.Clear()
	if b.Size() != 0 || len(b.Rules()) != 0 {
		t.Errorf("after Clear: size %d, rules %q", b.Size(), b.Rules())
	}
	if ok, _ := b.Check("10.1.0.1", ""); ok {
		t.Error("blocked after Clear")
	}
}

func TestParseRule(t *testing.T) {
	for _, c := range []struct {
		in, family string
		want       string // the rule string, or the error code
	}{
		{"10.0.0.5", "", "Address: IPv4 10.0.0.5"},
		{"::1", "", "Address: IPv6 ::1"},
		{"::ffff:10.0.0.5", "", "Address: IPv6 ::ffff:10.0.0.5"},
		{"10.0.0.1-10.0.0.10", "", "Range: IPv4 10.0.0.1-10.0.0.10"},
		{"2001:db8::1-2001:db8::ff", "", "Range: IPv6 2001:db8::1-2001:db8::ff"},
		{"fe80::1%br-lan-fe80::2%br-lan", "", "Range: IPv6 fe80::1-fe80::2"},
		{"10.0.0.0/8", "", "Subnet: IPv4 10.0.0.0/8"},
		{"192.168.1.7/24", "", "Subnet: IPv4 192.168.1.7/24"},
		{"2001:db8::/32", "IPV6", "Subnet: IPv6 2001:db8::/32"},
		{"Subnet: IPv4 10.0.0.0/8", "", "Subnet: IPv4 10.0.0.0/8"},
		{"subnet:  ipv6  ::/0", "", "Subnet: IPv6 ::/0"},
		{"Address: IPv6 ::ffff:1.2.3.4", "ipv6", "Address: IPv6 ::ffff:1.2.3.4"},
		{"Address: IPv4 1.2.3.4", "ipv6", "ERR_INVALID_ARG_VALUE"},
		{"Address: IPv4 ::1", "", "ERR_INVALID_ADDRESS"},
		{"Address:1.2.3.4", "", "ERR_INVALID_ARG_VALUE"},
		{"Address: IPv5 1.2.3.4", "", "ERR_INVALID_ARG_VALUE"},
		{"10.0.0.10-10.0.0.1", "", "ERR_INVALID_ARG_VALUE"},
		{"10.0.0.0/33", "", "ERR_OUT_OF_RANGE"},
		{"10.0.0.0/", "", "ERR_OUT_OF_RANGE"},
		{"10.0.0.0/-0", "", "Subnet: IPv4 10.0.0.0/0"},
		{"10.0.0.0/024", "", "Subnet: IPv4 10.0.0.0/24"},
		{"::1", "ipv4", "ERR_INVALID_ADDRESS"},
		{"1.2.3.4", "ipv5", "ERR_INVALID_ARG_VALUE"},
		{"", "", "ERR_INVALID_ADDRESS"},
		{"example.com", "", "ERR_INVALID_ADDRESS"},
	} {
		r, err := ParseRuleFamily(c.in, c.family)
		got := r.String()
		var e *Error
		if errors.As(err, &e) {
			got = e.Code
		} else if err != nil {
			got = err.Error()
		}
		if got != c.want {
			t.Errorf("ParseRuleFamily(%q, %q) = %q, want %q", c.in, c.family, got, c.want)
		}
	}
}

func TestFromJSON(t *testing.T) {
	b := New()
	// Node's patterns are not anchored: garbage is skipped, and a pattern
	// found inside a longer string is read.
	must(t, b.FromJSON([]byte(`["garbage", "Address: IPv4 1.2.3.4", "xxAddress: IPv4 5.6.7.8yy",
		"Address: IPv4 ::ffff:9.9.9.9", "address: IPv6 ::1", "Address: IPv6 fe80::2%eth0",
		"Range: IPv6 ::1-::2", "Subnet: IPv6 ::/0", "Subnet: IPv4 0.0.0.0/0"]`)))
	want := []string{
		"Address: IPv4 5.6.7.8", "Address: IPv6 fe80::2", "Address: IPv4 1.2.3.4", "Address: IPv6 ::1",
		"Subnet: IPv4 0.0.0.0/0", "Subnet: IPv6 ::/0", "Range: IPv6 ::1-::2",
	}
	if got := b.Rules(); !slices.Equal(got, want) {
		t.Errorf("rules = %q\nwant %q", got, want)
	}
	// An error stops the reading; the rules before it stay.
	b = New()
	err := b.FromJSON([]byte(`["Address: IPv4 1.1.1.1", "Address: IPv4 1.2.3.45678", "Address: IPv4 2.2.2.2"]`))
	var e *Error
	if !errors.As(err, &e) || e.Code != "ERR_INVALID_ADDRESS" {
		t.Fatalf("got %v, want ERR_INVALID_ADDRESS", err)
	}
	if got := b.Rules(); !slices.Equal(got, []string{"Address: IPv4 1.1.1.1"}) {
		t.Errorf("rules = %q", got)
	}
	if j, _ := b.MarshalJSON(); string(j) != `["Address: IPv4 1.1.1.1"]` {
		t.Errorf("MarshalJSON = %s", j)
	}
}

// naiveBlocked is Node's check written out rule by rule, as its C++ does
// it (compare and is_in_network across families), to test the interval
// index against.
func naiveBlocked(rules []crule, a ip) bool {
	for _, c := range rules {
		s, e := c.start(), c.end()
		switch c.kind {
		case AddressRule:
			switch {
			case s.v4 == a.v4:
				if s.hi == a.hi && s.lo == a.lo {
					return true
				}
			case s.v4 && a.mapped() || a.v4 && s.mapped():
				if s.v4value() == a.v4value() {
					return true
				}
			}
		case RangeRule:
			ge, le := naiveCompare(a, s), naiveCompare(a, e)
			if (ge == 0 || ge == 1) && (le == -1 || le == 0) {
				return true
			}
		case SubnetRule:
			if naiveInNetwork(a, s, int(c.prefix)) {
				return true
			}
		}
	}
	return false
}

// naiveCompare is SocketAddress::compare: -1, 0, 1, or 2 when the two are
// not comparable (an IPv4 address and an unmapped IPv6 one).
func naiveCompare(a, b ip) int {
	if a.v4 != b.v4 {
		if !a.v4 && !a.mapped() || !b.v4 && !b.mapped() {
			return 2
		}
		x, y := a.v4value(), b.v4value()
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	}
	return a.cmp(b)
}

func naiveInNetwork(a, n ip, prefix int) bool {
	switch {
	case a.v4 && n.v4:
		m := mask32(prefix)
		return a.v4value()&m == n.v4value()&m
	case !a.v4 && !n.v4:
		m := mask128(prefix)
		return a.hi&m.hi == n.hi&m.hi && a.lo&m.lo == n.lo&m.lo
	case a.v4: // an IPv4 address, an IPv6 network: the address as ::ffff:a.b.c.d
		m := mask128(prefix)
		return a.hi&m.hi == n.hi&m.hi && a.lo&m.lo == n.lo&m.lo
	default: // an IPv6 address, an IPv4 network
		if !a.mapped() {
			return false
		}
		m := mask32(prefix)
		return a.v4value()&m == n.v4value()&m
	}
}

// TestIndexMatchesNaive checks the interval index, at sizes where it
// sorts with radix sorts and in parallel, against a rule-by-rule check.
func TestIndexMatchesNaive(t *testing.T) {
	defer func(old int) { parallelSortMin = old }(parallelSortMin)
	parallelSortMin = 1000
	for _, n := range []int{30, 300, 8000} {
		r := rand.New(rand.NewPCG(uint64(n), 3))
		g := newGen(uint64(n))
		var rules []crule
		b := New()
		for len(rules) < n {
			v4 := r.IntN(2) == 0
			a := g.value(v4)
			var c crule
			switch r.IntN(3) {
			case 0:
				c = newRule(AddressRule, a, ip{}, 0)
			case 1:
				e := a
				e.lo += uint64(r.IntN(1000))
				if e.lo < a.lo || v4 && e.lo>>32 != a.lo>>32 {
					continue
				}
				c = newRule(RangeRule, a, e, 0)
			default:
				// Mostly long prefixes, so that the rules leave most of
				// the space open and checks have something to tell apart.
				p := maxPrefix(v4) - r.IntN(maxPrefix(v4)/2)
				if !v4 && (naiveInNetwork(ipFrom4(0), a, p) || a.mapped() && p < 112) {
					p = 128 // not all, nor half, of IPv4
				}
				if n < 1000 && r.IntN(100) == 0 {
					p = r.IntN(maxPrefix(v4) + 1)
				}
				c = newRule(SubnetRule, a, ip{}, uint8(p))
			}
			rules = append(rules, c)
			b.add(c)
			g.remember(a)
		}
		var blocked, allowed [2]int // by family: IPv4, IPv6
		checks := 8000
		for i := range checks {
			chk := g.check()
			if i%2 == 0 {
				// Half anywhere, not only at rule edges.
				v4 := r.IntN(2) == 0
				a := ip{hi: r.Uint64(), lo: r.Uint64()}
				switch {
				case v4:
					a = ipFrom4(r.Uint32())
				case r.IntN(2) == 0:
					a = ip{lo: mappedLo | uint64(r.Uint32())}
				}
				chk = nodeCheck{A: a.String(), F: a.family()}
			}
			v4, _ := familyOf(chk.F)
			if chk.F == "" {
				v4 = true
			}
			a, ok := parseAddress(chk.A, v4)
			if !ok {
				continue
			}
			got, want := b.index().has(a), naiveBlocked(rules, a)
			if got != want {
				t.Fatalf("%d rules: check %v (v4=%v) = %v, rule by rule %v", n, a, a.v4, got, want)
			}
			f := 0
			if !a.v4 {
				f = 1
			}
			if got {
				blocked[f]++
			} else {
				allowed[f]++
			}
		}
		// A test where (nearly) everything is blocked, or nothing, would
		// tell nothing apart.
		t.Logf("%d rules: blocked %v, allowed %v (IPv4, IPv6)", n, blocked, allowed)
		for f := range 2 {
			if blocked[f] < checks/20 || allowed[f] < checks/20 {
				t.Errorf("%d rules, family %d: %d checks blocked, %d allowed: too few of one", n, f, blocked[f], allowed[f])
			}
		}
	}
}

func TestPlainString(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("Address: IPv4 1.2.3.4\\\x00\x1f\x7f\x80\xff\"")
	for range 20000 {
		s := make([]byte, r.IntN(40))
		for i := range s {
			s[i] = alphabet[r.IntN(len(alphabet))]
			if r.IntN(3) == 0 {
				s[i] = 'a'
			}
		}
		want := true
		for _, c := range s {
			if c < 0x20 || c == '\\' {
				want = false
			}
		}
		if got := plainString(s); got != want {
			t.Fatalf("plainString(%q) = %v, want %v", s, got, want)
		}
	}
}

// TestConcurrentChecks runs checks from many goroutines while rules are
// added (run it with -race): what was blocked before stays blocked.
func TestConcurrentChecks(t *testing.T) {
	b := New()
	must(t, b.AddSubnet("10.0.0.0", 8, ""))
	must(t, b.AddAddress("2001:db8::1", "ipv6"))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 2000 {
				a := netip.AddrFrom4([4]byte{10, byte(i), byte(j >> 8), byte(j)})
				if !b.CheckAddr(a) || !b.CheckAddr(netip.MustParseAddr("::ffff:10.1.2.3")) {
					t.Errorf("%v not blocked", a)
					return
				}
				if ok, _ := b.Check("2001:db8::1", "ipv6"); !ok {
					t.Error("2001:db8::1 not blocked")
					return
				}
			}
		})
	}
	for j := range 500 {
		must(t, b.AddAddress(netip.AddrFrom4([4]byte{192, 0, byte(j >> 8), byte(j)}).String(), ""))
	}
	wg.Wait()
	if ok, _ := b.Check("192.0.1.243", ""); !ok {
		t.Error("a rule added during the checks is missing")
	}
}

func TestCheckAddrAllocations(t *testing.T) {
	b := New()
	for _, r := range benchRules(1000, 1) {
		must(t, b.Add(r))
	}
	a4, a6 := netip.MustParseAddr("10.1.2.3"), netip.MustParseAddr("2001:db8::1")
	b.CheckAddr(a4)
	if n := testing.AllocsPerRun(1000, func() { b.CheckAddr(a4); b.CheckAddr(a6) }); n != 0 {
		t.Errorf("CheckAddr allocates %v times per call", n)
	}
}

func TestInspectString(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"foo", "'foo'"},
		{"it's", `"it's"`},
		{`it's "x"`, "`it's \"x\"`"},
		{"a\nb\x00\x7f", `'a\nb\x00\x7F'`},
		{`back\slash`, `'back\\slash'`},
	} {
		if got := inspectString(c.in); got != c.want {
			t.Errorf("inspectString(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mustRule(t *testing.T, s string) Rule {
	t.Helper()
	r, err := ParseRule(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
