//go:build !linux

package cmd

// growPipe is a no-op where a pipe's capacity cannot be set.
func growPipe(any) {}
