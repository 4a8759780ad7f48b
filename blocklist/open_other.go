//go:build !unix

package blocklist

// openNoBlock is 0 where opening a file cannot block on a writer.
const openNoBlock = 0
