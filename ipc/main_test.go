package ipc

import (
	"os"
	"testing"
)

// helperEnv names the helper a re-executed test binary runs instead of the
// tests (see runHelper): the way these tests get a process that inherits
// descriptors or has its own umask.
const helperEnv = "NODENET_IPC_TEST_HELPER"

func TestMain(m *testing.M) {
	if h := os.Getenv(helperEnv); h != "" {
		os.Exit(runHelper(h))
	}
	os.Exit(m.Run())
}
