package netcore

import (
	"errors"
	"net"
	"time"
)

// The pause after an accept error that waiting can cure starts at
// acceptBackoffMin and doubles up to acceptBackoffMax.
const (
	acceptBackoffMin = 5 * time.Millisecond
	acceptBackoffMax = time.Second
)

// acceptBackoff paces a server's accept loop through accept errors. When
// the process is out of descriptors (EMFILE, ENFILE) or kernel memory
// (ENOBUFS, ENOMEM), the connection stays in the listen queue; accepting
// again at once would spin, so the loop pauses, longer each time (5ms
// doubling to 1s), and the connections already open go on being served by
// their own goroutines. The first such error is reported once. An error
// that the kernel passes on from one failed connection (ECONNRESET,
// EPROTO, ...) is retried at once: it used up that connection, so it cannot
// repeat without new ones. Anything else stops the loop.
//
// The accept loop calls Wait after every error and Reset after every
// connection it accepts:
//
//	b := acceptBackoff{onLimit: report, stop: closing}
//	for {
//		c, err := ln.Accept()
//		if err != nil {
//			if b.Wait(err) {
//				continue
//			}
//			return err // nil-able: net.ErrClosed when the server closed
//		}
//		b.Reset()
//		go serve(c)
//	}
type acceptBackoff struct {
	// onLimit, when not nil, is called with the first error that is a
	// lack of descriptors or memory, once in the backoff's life.
	onLimit func(error)
	// stop, when not nil, ends a pause early when it is closed (the
	// server is closing); Wait then returns false.
	stop <-chan struct{}

	delay    time.Duration
	reported bool
	pauses   int64 // how many times Wait paused, for statistics
}

// Wait decides what the accept loop does after Accept failed with err:
// true to accept again, after a pause if err is a lack of descriptors or
// memory; false to stop, because the listener is closed, the error is not
// one that retrying can cure, or stop was closed during the pause.
func (b *acceptBackoff) Wait(err error) bool {
	pause, retry := b.next(err)
	if !retry || pause == 0 {
		return retry
	}
	t := time.NewTimer(pause)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-b.stop:
		return false
	}
}

// next is Wait without the waiting, for an event loop that goes on
// serving while it pauses accepting: it returns how long to pause (0 for
// at once) and whether to accept again at all, and reports the first
// lack of descriptors or memory.
func (b *acceptBackoff) next(err error) (pause time.Duration, retry bool) {
	switch {
	case err == nil:
		return 0, true
	case errors.Is(err, net.ErrClosed):
		return 0, false
	case isAcceptRetryErr(err):
		return 0, true
	case !isAcceptLimitErr(err):
		return 0, false
	}
	if !b.reported {
		b.reported = true
		if b.onLimit != nil {
			b.onLimit(err)
		}
	}
	b.delay = min(max(2*b.delay, acceptBackoffMin), acceptBackoffMax)
	b.pauses++
	return b.delay, true
}

// Reset starts the next pause from the shortest again; the accept loop
// calls it after each connection it accepts.
func (b *acceptBackoff) Reset() { b.delay = 0 }

// IsAcceptLimitError reports whether err, an accept failure that a Server
// (ServerHooks.OnError) or an EchoReactor (EchoHooks.OnError) reported,
// is a lack of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM):
// the server then goes on serving its connections and retries accepting,
// and reports only the first such error.
func IsAcceptLimitError(err error) bool { return isAcceptLimitErr(err) }
