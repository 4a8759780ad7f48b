//go:build !linux

package blocklist

// threadCPU is not measured here.
func threadCPU() int64 { return 0 }
