//go:build unix

package netcore

import (
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"strings"
	"testing"
)

// fakeDNS is a DNS server on 127.0.0.1 that answers A and AAAA questions
// from a table and NXDOMAIN for any other name, so that tests resolve
// names without any resolver but their own.
type fakeDNS struct {
	conn  net.PacketConn
	names map[string][]netip.Addr // lower-case name without the final dot
}

// newFakeDNS starts a fake DNS server and returns a Resolver that asks
// only it.
func newFakeDNS(t *testing.T, names map[string][]netip.Addr) *net.Resolver {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := &fakeDNS{conn: pc, names: names}
	t.Cleanup(func() { pc.Close() })
	go d.serve()
	addr := pc.LocalAddr().String()
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var dl net.Dialer
			return dl.DialContext(ctx, "udp", addr)
		},
	}
}

func (d *fakeDNS) serve() {
	buf := make([]byte, 1500)
	for {
		n, from, err := d.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		if resp := d.answer(buf[:n]); resp != nil {
			d.conn.WriteTo(resp, from) //nolint:errcheck // UDP: the client retries
		}
	}
}

// answer builds the reply to one query: the header, the question again,
// and an answer per address of the type asked.
func (d *fakeDNS) answer(q []byte) []byte {
	if len(q) < 12 {
		return nil
	}
	i := 12
	var labels []string
	for i < len(q) && q[i] != 0 {
		l := int(q[i])
		if i+1+l > len(q) {
			return nil
		}
		labels = append(labels, string(q[i+1:i+1+l]))
		i += 1 + l
	}
	i++ // the root label
	if i+4 > len(q) {
		return nil
	}
	qtype := binary.BigEndian.Uint16(q[i:])
	question := q[12 : i+4]
	name := strings.ToLower(strings.Join(labels, "."))
	addrs, known := d.names[name]

	var answers []byte
	for _, a := range addrs {
		var rtype uint16 = 1 // A
		if a.Is6() {
			rtype = 28 // AAAA
		}
		if rtype != qtype {
			continue
		}
		rr := []byte{0xc0, 12} // the name: a pointer to the question's
		rr = binary.BigEndian.AppendUint16(rr, rtype)
		rr = binary.BigEndian.AppendUint16(rr, 1) // IN
		rr = binary.BigEndian.AppendUint32(rr, 60)
		ip := a.AsSlice()
		rr = binary.BigEndian.AppendUint16(rr, uint16(len(ip)))
		answers = append(append(answers, rr...), ip...)
	}
	flags := uint16(0x8180) // a response, recursion desired and available
	if !known {
		flags |= 3 // NXDOMAIN
	}
	resp := make([]byte, 12, 12+len(question)+len(answers))
	copy(resp, q[:2])
	binary.BigEndian.PutUint16(resp[2:], flags)
	binary.BigEndian.PutUint16(resp[4:], 1)
	count := 0
	for _, a := range addrs {
		if (a.Is6() && qtype == 28) || (a.Is4() && qtype == 1) {
			count++
		}
	}
	binary.BigEndian.PutUint16(resp[6:], uint16(count))
	return append(append(resp, question...), answers...)
}
