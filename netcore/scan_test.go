package netcore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestParsePorts(t *testing.T) {
	tests := []struct {
		in   string
		want []int
		err  string
	}{
		{in: "22", want: []int{22}},
		{in: "20-25,80,443", want: []int{20, 21, 22, 23, 24, 25, 80, 443}},
		{in: "443,80,81-82,80", want: []int{80, 81, 82, 443}},
		{in: "0-1,65535", want: []int{0, 1, 65535}},
		{in: "7-7", want: []int{7}},
		{in: "80-20", err: "ERR_SOCKET_BAD_PORT: Port should be >= 0 and < 65536. Received type string ('80-20')."},
		{in: "0-70000", err: "ERR_SOCKET_BAD_PORT: Port should be >= 0 and < 65536. Received type number (70000)."},
		{in: "80,,81", err: "Received type string ('')."},
		{in: "1-2-3", err: "Received type string ('2-3')."},
		{in: "80,x", err: "Received type string ('x')."},
		{in: "-5", err: "ERR_SOCKET_BAD_PORT"},
	}
	for _, tt := range tests {
		got, err := ParsePorts(tt.in)
		if tt.err != "" {
			var ne *Error
			if !errors.As(err, &ne) || ne.Code != "ERR_SOCKET_BAD_PORT" || !ne.Usage || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParsePorts(%q) = %v, %v; want a usage error with %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("ParsePorts(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func FuzzParsePorts(f *testing.F) {
	for _, s := range []string{"22", "20-25,80", "80-20", "0-70000", ",", "1-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ports, err := ParsePorts(s)
		if err != nil {
			return
		}
		if !slices.IsSorted(ports) || len(slices.Compact(slices.Clone(ports))) != len(ports) || len(ports) == 0 {
			t.Fatalf("ParsePorts(%q) = %v: not sorted, unique and non-empty", s, ports)
		}
		if ports[0] < 0 || ports[len(ports)-1] > 65535 {
			t.Fatalf("ParsePorts(%q) = %v: out of range", s, ports)
		}
	})
}

func TestIsPortList(t *testing.T) {
	for s, want := range map[string]bool{"22": false, "20-25": true, "80,443": true, "-1": false, "localhost": false, "2001:db8::1": false, "": false, "1-2,x": false} {
		if got := IsPortList(s); got != want {
			t.Errorf("IsPortList(%q) = %v, want %v", s, got, want)
		}
	}
}

// TestScanOrder: every port is answered once, in the order asked, with
// the open ones open and the others carrying Node's error.
func TestScanOrder(t *testing.T) {
	var open []int
	for range 3 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		open = append(open, ln.Addr().(*net.TCPAddr).Port)
	}
	closed := closedPorts(t, 5)
	ports := slices.Sorted(slices.Values(append(slices.Clone(open), closed...)))
	var got []ScanResult
	res, err := Scan(context.Background(), ScanOptions{
		ConnectOptions: ConnectOptions{Host: "127.0.0.1"},
		Ports:          ports,
		Concurrency:    2,
		OnResult:       func(r ScanResult) { got = append(got, r) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(ports) || len(res) != len(ports) {
		t.Fatalf("%d results reported, %d returned, want %d", len(got), len(res), len(ports))
	}
	for i, r := range got {
		if r.Port != ports[i] || r != res[i] {
			t.Errorf("result %d is port %d (returned %+v), want port %d", i, r.Port, res[i], ports[i])
		}
		wantOpen := slices.Contains(open, r.Port)
		if r.Open != wantOpen {
			t.Errorf("port %d: open %v, want %v (%v)", r.Port, r.Open, wantOpen, r.Err)
		}
		var ne *Error
		if !wantOpen && (!errors.As(r.Err, &ne) || ne.Code != "ECONNREFUSED") {
			t.Errorf("port %d: err %v, want ECONNREFUSED", r.Port, r.Err)
		}
	}
}

func TestScanBlocked(t *testing.T) {
	_, err := Scan(context.Background(), ScanOptions{
		ConnectOptions: ConnectOptions{Host: "127.0.0.1", BlockList: blockOne(netip.MustParseAddr("127.0.0.1"))},
		Ports:          []int{1, 2},
	})
	var ne *Error
	if !errors.As(err, &ne) || ne.Code != "ERR_IP_BLOCKED" {
		t.Fatalf("err = %v, want ERR_IP_BLOCKED", err)
	}
}

func ExampleParsePorts() {
	ports, _ := ParsePorts("443,20-22,80")
	fmt.Println(ports)
	_, err := ParsePorts("80-20")
	fmt.Println(err)
	// Output:
	// [20 21 22 80 443]
	// ERR_SOCKET_BAD_PORT: Port should be >= 0 and < 65536. Received type string ('80-20').
}
