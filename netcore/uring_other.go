//go:build !linux

package netcore

import (
	"errors"
	"fmt"
)

// uringAvailable tells whether the uring engine can run: only on Linux.
func uringAvailable() error {
	return fmt.Errorf("netcore: io_uring: %w on this system", errors.ErrUnsupported)
}

// uringBufSize is the size of the uring engine's provided buffers
// (uringloop_linux.go); named here too for the tests that bound what a
// connection holds on each engine.
const uringBufSize = 16 << 10
