//go:build !linux

package blocklist

import "os"

// readEntryFile reads the n bytes of f, a cache entry, into memory.
func readEntryFile(f *os.File, n int) (b []byte, mapped bool, err error) {
	b, err = readEntryCopy(f, n)
	return b, false, err
}

// unmapEntry is never called where nothing is mapped.
func unmapEntry([]byte) {}
