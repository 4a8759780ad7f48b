//go:build windows

package blocklist

import (
	"os"

	"golang.org/x/sys/windows"
)

// lockFile takes an exclusive LockFileEx lock on the first byte of path,
// creating it, and returns the function that releases it. Windows releases
// the lock if the process dies; the file is left in place.
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
	var ol windows.Overlapped
	h := windows.Handle(f.Fd())
	if err := windows.LockFileEx(h, windows.LOCKFILE_EXCLUSIVE_LOCK, 0, 1, 0, &ol); err != nil {
		f.Close()
		return nil, &os.PathError{Op: "LockFileEx", Path: path, Err: err}
	}
	return func() {
		windows.UnlockFileEx(h, 0, 1, 0, &ol) //nolint:errcheck // closing releases it too
		f.Close()
	}, nil
}

// syncDir does nothing on Windows, which cannot open a folder to sync it;
// MoveFileEx, behind os.Rename, replaces the file in one step.
func syncDir(string) error { return nil }
