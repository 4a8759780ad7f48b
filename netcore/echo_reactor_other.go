//go:build !linux

package netcore

import (
	"errors"
	"fmt"
	"net"
)

// EchoReactorSupported tells whether EchoReactor can serve on this system.
// Elsewhere, serve each connection with Echo on its own goroutine.
const EchoReactorSupported = false

// echoRuntime is empty where there is no reactor.
type echoRuntime struct{ done chan struct{} }

func (r *EchoReactor) start([]net.Listener) (*echoRuntime, error) {
	return nil, fmt.Errorf("netcore: EchoReactor: %w on this system", errors.ErrUnsupported)
}

func (rt *echoRuntime) signal(int32) {}

func (rt *echoRuntime) open() int { return 0 }
