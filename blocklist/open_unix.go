//go:build unix

package blocklist

import "syscall"

// openNoBlock makes an open return at once: on a FIFO it would wait for a
// writer. O_NOCTTY keeps a terminal from becoming the controlling one.
const openNoBlock = syscall.O_NONBLOCK | syscall.O_NOCTTY
