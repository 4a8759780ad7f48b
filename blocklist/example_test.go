package blocklist_test

import (
	"fmt"
	"net/netip"

	"github.com/nodenet/nodenet/blocklist"
)

// The example of Node's net.BlockList documentation.
func ExampleBlockList() {
	b := blocklist.New()
	b.AddAddress("123.123.123.123", "")
	b.AddRange("10.0.0.1", "10.0.0.10", "")
	b.AddSubnet("8592:757c:efae:4e45::", 64, "ipv6")

	fmt.Println(b.Check("123.123.123.123", ""))
	fmt.Println(b.Check("10.0.0.3", ""))
	fmt.Println(b.Check("222.111.111.222", ""))

	// IPv6 notation for IPv4 addresses works:
	fmt.Println(b.Check("::ffff:7b7b:7b7b", "ipv6"))
	fmt.Println(b.Check("::ffff:123.123.123.123", "ipv6"))

	for _, r := range b.Rules() {
		fmt.Println(r)
	}
	// Output:
	// true <nil>
	// true <nil>
	// false <nil>
	// true <nil>
	// true <nil>
	// Address: IPv4 123.123.123.123
	// Subnet: IPv6 8592:757c:efae:4e45::/64
	// Range: IPv4 10.0.0.1-10.0.0.10
}

// A server checks each peer before reading from it: CheckAddr takes the
// address a net.Conn reports, and does not allocate.
func ExampleBlockList_CheckAddr() {
	b := blocklist.New()
	r, _ := blocklist.ParseRule("10.0.0.0/8")
	b.Add(r)
	// A dual-stack listener reports IPv4 peers in their mapped form.
	peer := netip.MustParseAddrPort("[::ffff:10.1.2.3]:53412")
	fmt.Println(b.CheckAddr(peer.Addr()))
	// Output: true
}

func ExampleParseRule() {
	for _, s := range []string{"10.0.0.5", "10.0.0.1-10.0.0.10", "2001:db8::/32", "Subnet: IPv4 192.168.1.7/24", "10.0.0.0/33"} {
		r, err := blocklist.ParseRule(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(r)
	}
	// Output:
	// Address: IPv4 10.0.0.5
	// Range: IPv4 10.0.0.1-10.0.0.10
	// Subnet: IPv6 2001:db8::/32
	// Subnet: IPv4 192.168.1.7/24
	// ERR_OUT_OF_RANGE: The value of "prefix" is out of range. It must be >= 0 && <= 32. Received 33
}
