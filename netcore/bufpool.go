package netcore

import (
	"sync"
	"sync/atomic"
)

// The buffer pool holds the buffers of data in flight: a connection takes
// one when the kernel says its socket has data and gives it back as soon as
// the data is written on, so an idle connection holds none. There are two
// size classes. Reads start in the small one, which is ample for
// request/response traffic; a read that fills a small buffer is bulk
// traffic, and the connection moves to the large class until a read comes
// back short again, so a bulk stream costs a quarter of the system calls.
//
// sync.Pool keeps a per-P cache and needs no lock on the hot path; it
// drops what it holds over two garbage collections, so an idle server gives
// its buffers back. The pool stores *[]byte rather than []byte so that Put
// does not allocate a slice header.
const (
	smallBufSize = 16 << 10
	largeBufSize = 64 << 10
)

var (
	smallBufs = sync.Pool{New: func() any { b := make([]byte, smallBufSize); return &b }}
	largeBufs = sync.Pool{New: func() any { b := make([]byte, largeBufSize); return &b }}
)

// bufHook, when set (by tests), is told of every buffer taken (+1) and
// given back (-1), so that a test can count the buffers in flight. Unset it
// costs one load per buffer.
var bufHook atomic.Pointer[func(delta int)]

// getBuf takes a buffer from the pool: a large one when large is set.
func getBuf(large bool) *[]byte {
	if h := bufHook.Load(); h != nil {
		(*h)(1)
	}
	if large {
		return largeBufs.Get().(*[]byte)
	}
	return smallBufs.Get().(*[]byte)
}

// putBuf gives a buffer taken with getBuf back to the pool. The caller must
// not use it afterwards.
func putBuf(b *[]byte) {
	if h := bufHook.Load(); h != nil {
		(*h)(-1)
	}
	switch cap(*b) {
	case largeBufSize:
		*b = (*b)[:largeBufSize]
		largeBufs.Put(b)
	case smallBufSize:
		*b = (*b)[:smallBufSize]
		smallBufs.Put(b)
	}
}
