//go:build unix

package blocklist

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// within runs f and fails the test if it has not returned in 10 s: the
// FIFO cases block forever when the open is not made without blocking.
func within(t *testing.T, what string, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: still blocked after 10 s", what)
		return nil
	}
}

// TestFIFORefused checks that a FIFO as the rule file is refused by
// LoadFile and by Update, at once, and that Update leaves the lock free.
func TestFIFORefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rules.json")
	if err := unix.Mkfifo(path, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	err := within(t, "LoadFile(FIFO)", func() error { _, err := LoadFile(path); return err })
	if !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), "FIFO") {
		t.Fatalf("LoadFile(FIFO) = %v, want %v naming a FIFO", err, ErrNotRegular)
	}
	for i := range 2 { // the second finds the lock free
		err = within(t, "Update(FIFO)", func() error {
			return Update(path, func(b *BlockList) error { return b.AddAddress("10.0.0.1", IPv4) })
		})
		if !errors.Is(err, ErrNotRegular) {
			t.Fatalf("Update(FIFO) #%d = %v, want %v", i+1, err, ErrNotRegular)
		}
	}
	fi, err := os.Lstat(path)
	if err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Fatalf("the FIFO was replaced: %v, %v", fi, err)
	}
}

// TestLockNotFollowed checks that a link at FILE.lock is refused, and the
// file it points to neither made nor truncated; and that a FIFO there is
// refused without blocking.
func TestLockNotFollowed(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rules.json")
	victim := filepath.Join(dir, "victim")
	if err := os.Symlink(victim, path+".lock"); err != nil {
		t.Fatal(err)
	}
	add := func() error {
		return Update(path, func(b *BlockList) error { return b.AddAddress("10.0.0.1", IPv4) })
	}
	err := add()
	if err == nil || !strings.Contains(err.Error(), "symbolic link") || !strings.Contains(err.Error(), "rules.json.lock") {
		t.Fatalf("Update with a link at the lock = %v, want an error naming the link", err)
	}
	if _, err := os.Lstat(victim); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the link's target was made: %v", err)
	}
	if err := os.WriteFile(victim, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := add(); err == nil {
		t.Fatal("Update with a link at the lock to a file: no error")
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep" {
		t.Fatalf("the link's target changed: %q", b)
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the rule file was written without the lock: %v", err)
	}

	os.Remove(path + ".lock")
	if err := unix.Mkfifo(path+".lock", 0o600); err != nil {
		t.Fatal(err)
	}
	if err := within(t, "Update with a FIFO lock", add); !errors.Is(err, ErrNotRegular) {
		t.Fatalf("Update with a FIFO at the lock = %v, want %v", err, ErrNotRegular)
	}
}

// TestUpdateRemovesStaleTemps checks that Update removes the temporary
// files of writers killed before their rename, and nothing else.
func TestUpdateRemovesStaleTemps(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rules.json")
	stale := []string{".rules.json.tmp1", ".rules.json.tmpzzzzzzzzzzzzz", ".rules.json.tmp3k7x0q"}
	kept := []string{".rules.json.tmp", ".rules.json.tmpABC", ".rules.json.tmp1.bak", ".other.json.tmp1", "rules.json.tmp1", ".rules.json.tmp12345678901234"}
	for _, n := range append(append([]string{}, stale...), kept...) {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("[\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A folder of that pattern is not a file the writer made.
	if err := os.Mkdir(filepath.Join(dir, ".rules.json.tmpdir"), 0o755); err != nil {
		t.Fatal(err)
	}
	kept = append(kept, ".rules.json.tmpdir")
	if err := Update(path, func(b *BlockList) error { return b.AddAddress("10.0.0.1", IPv4) }); err != nil {
		t.Fatal(err)
	}
	for _, n := range stale {
		if _, err := os.Lstat(filepath.Join(dir, n)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s is still there (%v)", n, err)
		}
	}
	for _, n := range kept {
		if _, err := os.Lstat(filepath.Join(dir, n)); err != nil {
			t.Errorf("%s was removed: %v", n, err)
		}
	}
}
