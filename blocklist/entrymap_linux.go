package blocklist

import (
	"os"
	"syscall"
)

// readEntryFile returns the n bytes of f, a cache entry: mapped
// read-only when the system allows (mapped is then true), rather than
// copied into memory that each 4 KiB would fault in. An entry file is
// never changed in place (a new entry replaces it whole), so the mapping
// holds what was checked for as long as it lives.
func readEntryFile(f *os.File, n int) (b []byte, mapped bool, err error) {
	b, err = syscall.Mmap(int(f.Fd()), 0, n, syscall.PROT_READ, syscall.MAP_PRIVATE|syscall.MAP_POPULATE)
	if err == nil {
		return b, true, nil
	}
	b, err = readEntryCopy(f, n)
	return b, false, err
}

// unmapEntry releases what readEntryFile mapped.
func unmapEntry(b []byte) { _ = syscall.Munmap(b) }
