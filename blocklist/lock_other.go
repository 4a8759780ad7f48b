//go:build !unix && !windows

package blocklist

import "os"

// lockFile only creates the lock file on systems without flock or
// LockFileEx (plan9, js, wasip1): writers there are not serialised, and
// concurrent updates may lose rules. The rename keeps each file whole.
func lockFile(path string) (unlock func(), err error) {
	// No O_NOFOLLOW here: a link at the lock's path is refused by
	// looking first.
	if fi, err := os.Lstat(path); err == nil && !fi.Mode().IsRegular() {
		return nil, notRegular(fi.Mode())
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	return func() { f.Close() }, nil
}

func syncDir(string) error { return nil }
