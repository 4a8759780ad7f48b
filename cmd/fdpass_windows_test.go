package cmd

import "testing"

// TestFDFlagsRefusedOnWindows: named pipes cannot carry descriptors and
// nothing is inherited by number, so the flags are usage errors (exit 2)
// that say so. Run under Wine by .ci/run.
func TestFDFlagsRefusedOnWindows(t *testing.T) {
	for _, tt := range []struct{ name, argv, want string }{
		{"send-fd", "connect -U x --send-fd 2 --send x", "--send-fd is not supported on Windows: named pipes cannot carry descriptors"},
		{"fd", "connect --fd 3", "--fd is not supported on Windows: sockets are not inherited by number, and named pipes cannot carry descriptors"},
		{"pass-fds", "listen -U x --pass-fds -e cmd", "--pass-fds is not supported on Windows: named pipes cannot carry descriptors"},
	} {
		t.Run(tt.name, func(t *testing.T) { checkUsageError(t, tt.argv, tt.want) })
	}
}
