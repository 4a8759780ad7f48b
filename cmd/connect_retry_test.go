package cmd

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/nodenet/nodenet/netcore"
)

// TestDialWithRetrySignal: a signal during --wait gives up at once with
// the signal's status. The signal is read by one goroutine and the retry
// loop reads what it got: `go test -race -count=20` caught the loop
// reading it unsynchronised.
func TestDialWithRetrySignal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nobody.sock") // ENOENT: retried
	opts := &ConnectOptions{Path: path, Wait: time.Minute}
	sigs := make(chan os.Signal, 1)
	sigs <- syscall.SIGTERM
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := dialWithRetry(ctx, opts, netcore.ConnectOptions{Path: path}, sigs)
	if s != nil {
		s.Destroy(nil)
		t.Fatal("connected to a path nobody listens on")
	}
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != 128+int(syscall.SIGTERM) {
		t.Fatalf("got %v, want exit status %d", err, 128+int(syscall.SIGTERM))
	}
}
