//go:build !unix && !windows

package netcore

// RaiseFileLimit does nothing on this system; it returns zeros.
func RaiseFileLimit() (old, new uint64, err error) { return 0, 0, nil }

// isAcceptLimitErr knows no resource errors on this system.
func isAcceptLimitErr(error) bool { return false }

// isAcceptRetryErr knows no per-connection accept errors on this system.
func isAcceptRetryErr(error) bool { return false }
