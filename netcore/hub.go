package netcore

import (
	"io"
	"sync"
)

// Hub is the handler of a server that keeps accepting and shares one
// stream among all its clients (ncat -k, nodenet listen -k): what every
// client sends goes to one writer, a chunk at a time, and what one reader
// gives goes to every client. Give Serve to NewServer as the handler and
// run Broadcast on the reader.
type Hub struct {
	// NoShutdown keeps the clients open when the reader ends; by default
	// they are ended (half-closed), as the relay does at stdin's end.
	NoShutdown bool

	mu      sync.Mutex
	clients map[*Socket]struct{}
	inEnded bool

	outMu sync.Mutex
	out   io.Writer
}

// NewHub returns a Hub that writes what clients send to out.
func NewHub(out io.Writer, noShutdown bool) *Hub {
	return &Hub{out: out, NoShutdown: noShutdown, clients: map[*Socket]struct{}{}}
}

// Broadcast copies in to every client until in ends, then ends every
// client (unless NoShutdown) and every client that comes later. A client
// whose write fails is destroyed with the error; the others go on. Writes
// are sequential, so a client that does not read holds the others up, as
// with ncat -k: nothing is buffered beyond one chunk.
func (h *Hub) Broadcast(in io.Reader) {
	buf := make([]byte, 32<<10)
	for {
		n, err := in.Read(buf)
		if n > 0 {
			for _, c := range h.snapshot(false) {
				if _, werr := c.Write(buf[:n]); werr != nil {
					c.Destroy(werr)
				}
			}
		}
		if err != nil {
			break
		}
	}
	clients := h.snapshot(true)
	if !h.NoShutdown {
		for _, c := range clients {
			c.End() //nolint:errcheck // reported through the hooks
		}
	}
}

// snapshot returns the clients now; ended marks the reader's end.
func (h *Hub) snapshot(ended bool) []*Socket {
	h.mu.Lock()
	defer h.mu.Unlock()
	if ended {
		h.inEnded = true
	}
	clients := make([]*Socket, 0, len(h.clients))
	for c := range h.clients {
		clients = append(clients, c)
	}
	return clients
}

// Serve relays one client until it is closed: the Server's handler.
func (h *Hub) Serve(s *Socket) {
	h.mu.Lock()
	h.clients[s] = struct{}{}
	ended := h.inEnded
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.clients, s)
		h.mu.Unlock()
	}()
	if ended && !h.NoShutdown {
		s.End() //nolint:errcheck // nothing more to send
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := s.Read(buf)
		if n > 0 {
			h.outMu.Lock()
			_, werr := h.out.Write(buf[:n])
			h.outMu.Unlock()
			if werr != nil {
				s.Destroy(werr)
				return
			}
		}
		if err != nil {
			if err != io.EOF {
				s.Destroy(err)
				return
			}
			break
		}
	}
	if h.NoShutdown {
		return // the client ended: so do we
	}
	// The client ended; with allowHalfOpen it stays open for the reader
	// until the reader ends, which ends it.
	<-s.Closed()
}
