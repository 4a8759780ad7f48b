package cmd

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// TestFDFlagsRefusedOnWindows: named pipes cannot carry descriptors and
// nothing is inherited by number, so the flags are usage errors (exit 2)
// that say so. Run under Wine by .ci/run, where t.TempDir's cleanup
// fails (Wine cannot unlink there), hence a directory of its own that
// is removed on a best-effort basis.
func TestFDFlagsRefusedOnWindows(t *testing.T) {
	dir, err := os.MkdirTemp("", "nodenet-fd")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	for _, tt := range []struct{ name, argv, want string }{
		{"send-fd", "connect -U x --send-fd 2 --send x", "nodenet: --send-fd is not supported on Windows: named pipes cannot carry descriptors\n"},
		{"fd", "connect --fd 3", "nodenet: --fd is not supported on Windows: sockets are not inherited by number, and named pipes cannot carry descriptors\n"},
		{"pass-fds", "listen -U x --pass-fds -e cmd", "nodenet: --pass-fds is not supported on Windows: named pipes cannot carry descriptors\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := Run(splitArgs(tt.argv), Test(strings.NewReader(""), &out, &errOut), []string{"XDG_CONFIG_HOME=" + dir})
			if code != exitUsage || errOut.String() != tt.want || out.Len() != 0 {
				t.Errorf("%s: exit %d, stderr %q, stdout %q; want 2 and %q", tt.argv, code, errOut.String(), out.String(), tt.want)
			}
		})
	}
}
