//go:build !linux

package netcore

import (
	"errors"
	"fmt"
	"net"
)

// reactorSupported tells whether the event-loop engine runs here; where
// it does not, a Server serves each connection on its own goroutine.
const reactorSupported = false

// reactorRuntime is empty where there is no reactor.
type reactorRuntime struct{ done chan struct{} }

// loopPlace is empty where there is no reactor.
type loopPlace struct{}

func (loopPlace) requestClose(*reactorConn) {}

func (r *reactor) start([]net.Listener) (*reactorRuntime, error) {
	return nil, fmt.Errorf("netcore: the event-loop engine: %w on this system", errors.ErrUnsupported)
}

func (rt *reactorRuntime) signal(int32) {}

func (rt *reactorRuntime) open() int { return 0 }

// reactorCanServe tells whether the event loops can take ln over: never
// here.
func reactorCanServe(net.Listener) bool { return false }
