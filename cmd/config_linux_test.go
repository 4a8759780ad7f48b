package cmd

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestConfigAliasBombsBounded runs nodenet (this test binary, which
// testscript.Main put on $PATH as nodenet) on hostile YAML config files
// under a 4 GiB address-space limit, and checks that each ends at once in
// exit status 2 with one line naming the file, and a peak RSS (from
// wait4's rusage) far below what expanding the aliases would take. Without
// the bound, these grow by hundreds of MB a second until the limit kills
// the process with a Go stack trace, instead of swapping the machine.
func TestConfigAliasBombsBounded(t *testing.T) {
	nodenet, err := exec.LookPath("nodenet")
	if err != nil {
		t.Fatalf("nodenet is not on $PATH: testscript.Main puts it there: %v", err)
	}
	tests := []struct{ name, config string }{
		{name: "recursive alias", config: "a: &a\n  b: *a\n"},
		{name: "recursive list", config: "a: &a [x, *a]\n"},
		{name: "map bomb", config: aliasBomb(8, 10)},
		{name: "list bomb", config: listBomb(8, 10)},
		{name: "bomb under a command", config: aliasBomb(8, 10) + "isip:\n  json: *a8\n"},
	}
	const maxRSSKiB = 200 << 10
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "bomb.yaml")
			if err := os.WriteFile(path, []byte(tt.config), 0o644); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, "sh", "-c", `ulimit -v 4194304 && exec "$0" --config "$1" isip ::1`, nodenet, path)
			cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+dir)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			cmd.Run() //nolint:errcheck // the exit status is checked below
			if ctx.Err() != nil {
				t.Fatalf("still running after 60s")
			}
			code := cmd.ProcessState.ExitCode()
			rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss // KiB on Linux
			t.Logf("exit %d, peak RSS %d KiB, stderr %q", code, rss, stderr.String())
			want := regexp.MustCompile(`^nodenet: config file ` + regexp.QuoteMeta(path) + `: line \d+: (alias \*a\d? refers to a value that contains it|more than 10000 values once aliases are expanded)\n$`)
			if code != exitUsage || !want.MatchString(stderr.String()) {
				t.Errorf("exit %d, stderr %q; want exit 2 and %s", code, firstLines(stderr.String(), 3), want)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout %q", stdout.String())
			}
			if rss > maxRSSKiB {
				t.Errorf("peak RSS %d KiB, want at most %d", rss, maxRSSKiB)
			}
		})
	}
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}
