package blocklist

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// MaxFileSize is the largest rule file, in bytes, that LoadFile reads and
// that Update and WriteFile write: 6 MiB, over the 4.9 MB of 100,000
// rules and room for 200,000 address rules. A larger file is refused
// before it is read, so that a file that is not a rule file at all (a
// disk image, a log) cannot take the memory of every command that loads
// it; at this size the command that writes the file (block import, add)
// stays under 64 MiB (measured: a full file of 200,000 address rules
// takes 55 MiB to import; 400,000, a 12 MB file, took 91 MiB).
const MaxFileSize = 6 << 20

// ErrNotRegular is the problem with a rule file, or its lock file, that is
// not a regular file: a FIFO, a device, a directory, a socket. Such a file
// is never read: /dev/zero never ends, and a FIFO blocks until someone
// writes to it. The error that wraps it says what the file is.
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge is the problem with a rule file larger than MaxFileSize, or
// with rules that would make one.
var ErrTooLarge = errors.New("too large for a rule file")

// maxFileSize is MaxFileSize, lowered by tests.
var maxFileSize int64 = MaxFileSize

// notRegular says what a file that is not a regular file is.
func notRegular(mode fs.FileMode) error {
	var what string
	switch {
	case mode.IsDir():
		what = "a directory"
	case mode&fs.ModeSymlink != 0:
		what = "a symbolic link"
	case mode&fs.ModeNamedPipe != 0:
		what = "a FIFO (named pipe)"
	case mode&fs.ModeSocket != 0:
		what = "a socket"
	case mode&fs.ModeCharDevice != 0:
		what = "a character device"
	case mode&fs.ModeDevice != 0:
		what = "a block device"
	default:
		what = "an irregular file"
	}
	return fmt.Errorf("%w: %s", ErrNotRegular, what)
}

// tooLarge is a file, or rules, of size bytes: more than maxFileSize.
func tooLarge(what string, size int64) error {
	return fmt.Errorf("%w: %s %d bytes, over the limit of %s", ErrTooLarge, what, size, sizeName(maxFileSize))
}

// sizeName writes a size in MiB when it is a whole number of them.
func sizeName(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// openRuleFile opens a rule file to read it, and returns its size. It
// refuses, without reading a byte, what is not a regular file and a file
// larger than MaxFileSize. The open itself does not block: it is made
// with O_NONBLOCK (a FIFO would otherwise wait for a writer) and
// O_NOCTTY, and after a stat, so that a device is not even opened unless
// it was swapped in between the two.
func openRuleFile(path string) (*os.File, int64, error) {
	if fi, err := os.Stat(path); err == nil && !fi.Mode().IsRegular() {
		return nil, 0, notRegular(fi.Mode())
	}
	f, err := os.OpenFile(path, os.O_RDONLY|openNoBlock, 0)
	if err != nil {
		return nil, 0, unwrapPath(err)
	}
	fi, err := f.Stat()
	switch {
	case err != nil:
		err = unwrapPath(err)
	case !fi.Mode().IsRegular():
		err = notRegular(fi.Mode())
	case fi.Size() > maxFileSize:
		err = tooLarge("the file has", fi.Size())
	}
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, fi.Size(), nil
}

// realPath returns the file that path names once symbolic links are
// followed: a rule file given as a link is read, locked and replaced
// where the link points, never replaced by a file of its own. A link to
// a file that does not exist yet names that file.
func realPath(path string) (string, error) {
	for range 40 {
		p, err := filepath.EvalSymlinks(path)
		if err == nil {
			return p, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", unwrapPath(err)
		}
		// Something is missing: the file (fine: it will be made), or the
		// target of a link, or a folder on the way.
		dir, base := filepath.Split(path)
		if dir == "" {
			dir = "."
		}
		if d, err := filepath.EvalSymlinks(dir); err == nil {
			path = filepath.Join(d, base)
		}
		fi, err := os.Lstat(path)
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			return path, nil // missing: the error, if any, comes with the open
		}
		target, err := os.Readlink(path)
		if err != nil {
			return "", unwrapPath(err)
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(path), target)
		}
		path = target
	}
	return "", errors.New("too many levels of symbolic links")
}

// tempPrefix is how the names of a rule file's temporary files start:
// ".NAME.tmp", then a random number in base 36.
func tempPrefix(base string) string { return "." + base + ".tmp" }

// isTempName reports whether name is one of writeAtomic's temporary files
// for the file prefix belongs to.
func isTempName(name, prefix string) bool {
	rest, ok := strings.CutPrefix(name, prefix)
	if !ok || rest == "" || len(rest) > 13 { // 13 base-36 digits hold a uint64
		return false
	}
	for _, c := range []byte(rest) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'z') {
			return false
		}
	}
	return true
}

// removeStaleTemps removes the temporary files that writers killed before
// their rename left next to the rule file at path. Update calls it holding
// the lock, when no other writer that takes the lock can be writing one.
func removeStaleTemps(path string) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return // the write that follows reports a folder it cannot use
	}
	prefix := tempPrefix(base)
	for _, e := range entries {
		if e.Type().IsRegular() && isTempName(e.Name(), prefix) {
			os.Remove(filepath.Join(dir, e.Name())) //nolint:errcheck // best effort: another one may be gone
		}
	}
}
