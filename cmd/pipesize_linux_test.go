package cmd

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func pipeCapacity(t *testing.T, f *os.File) int {
	t.Helper()
	n, err := unix.FcntlInt(f.Fd(), unix.F_GETPIPE_SZ, 0)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestGrowPipe: a pipe grows to pipeSize, a regular file and a reader that
// is not a file are left alone.
func TestGrowPipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if n := pipeCapacity(t, r); n >= pipeSize {
		t.Fatalf("a new pipe already holds %d bytes", n)
	}
	growPipe(r)
	if n := pipeCapacity(t, w); n < pipeSize {
		// The kernel refuses a user over fs.pipe-user-pages-soft; ask
		// it directly to tell that from a growPipe that did nothing.
		if _, err := unix.FcntlInt(w.Fd(), unix.F_SETPIPE_SZ, pipeSize); err != nil {
			t.Skipf("this user may not grow a pipe: %v", err)
		}
		t.Errorf("after growPipe the pipe holds %d bytes, want %d", n, pipeSize)
	}

	f, err := os.Create(filepath.Join(t.TempDir(), "lines"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	growPipe(f) // no fcntl on a regular file: nothing to see but no panic
	growPipe(nil)
	growPipe(&failingReader{})
	if _, err := f.WriteString("::1\n"); err != nil {
		t.Errorf("the file after growPipe: %v", err)
	}
}
