package netcore

import (
	"errors"
	"net"
	"strings"
	"testing"
)

// TestFDPassingRefusedOnWindows: a connection here cannot carry
// descriptors, and no socket is inherited by number. Run under Wine by
// .ci/run.
func TestFDPassingRefusedOnWindows(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	s := NewSocket(a, nil, false)
	defer s.Destroy(nil)
	_, err := s.WriteFDs([]byte("x"), []int{0})
	var ne *Error
	if !errors.As(err, &ne) || ne.Code != "ERR_INVALID_HANDLE_TYPE" || !strings.Contains(ne.Message, "Windows named pipes cannot carry descriptors") {
		t.Fatalf("WriteFDs = %v; want ERR_INVALID_HANDLE_TYPE saying why", err)
	}
	_, err = SocketFromFD(3, ConnectOptions{})
	if !errors.As(err, &ne) || !ne.Usage || !strings.Contains(ne.Message, "not supported on Windows") {
		t.Fatalf("SocketFromFD = %v; want a usage error saying it is not supported", err)
	}
}
