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
