//go:build !linux

package blocklist

import "os"

// startWriteback does nothing: Sync writes the file.
func startWriteback(*os.File, int64, int64) {}
