package netcore

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// DefaultBrokerMaxQueued is how many bytes a Broker holds for one client
// that does not take them before it drops that client.
const DefaultBrokerMaxQueued = 4 << 20

// DefaultBrokerStallTimeout is how long a Broker's clients wait for one
// that takes nothing before it is dropped.
const DefaultBrokerStallTimeout = 10 * time.Second

// maxChatLine is the longest line Chat holds back waiting for its end;
// a longer one goes out in pieces of this size, each a line of its own.
const maxChatLine = 64 << 10

// BrokerOptions shape a Broker.
type BrokerOptions struct {
	// Chat names every client <userN> (N is its Socket's ID; <user0> is
	// the server's own input), prefixes each line it sends with that
	// name, escapes the bytes that could drive a terminal, and tells
	// everyone who comes and goes, as ncat --chat does.
	Chat bool
	// MaxQueued is how many bytes may wait for one client (sent to it by
	// the others but not yet taken by its connection); a client with more
	// is dropped (Destroy, then OnDrop). 0 means DefaultBrokerMaxQueued.
	MaxQueued int
	// StallTimeout is how long the others wait for a client that is
	// behind (a quarter of MaxQueued waiting for it) and takes nothing at
	// all before it is dropped. 0 means DefaultBrokerStallTimeout.
	StallTimeout time.Duration
	// OnDrop reports a client dropped for being too slow, with the bytes
	// that were waiting for it. It must not block.
	OnDrop func(s *Socket, queued int)
}

// Broker relays what each client sends to every other client, as ncat
// --broker does: in order for each sender, never back to the sender, and
// never holding more than MaxQueued bytes for any client.
//
// Each client has its own queue, drained by its own writer. A sender is
// back-pressured (not read) while any other client has a quarter of
// MaxQueued (1 MiB by default) or more waiting: the room goes at the pace
// of its slowest reader, and a slow reader loses nothing. A client that
// keeps the others waiting for a whole StallTimeout (10 s) without taking
// a byte is dropped (OnDrop), and so is one with MaxQueued waiting (which
// only many senders at once can reach), so that a client that reads
// nothing cannot hold up the room for long. What is sent is shared
// between the queues, not copied into each.
//
// A client that ends (FIN) leaves: it is sent what was queued for it,
// then ended. Serve is the Server's handler; ReadFrom adds the server's
// own input as one more sender that receives nothing.
type Broker struct {
	opts BrokerOptions

	mu      sync.Mutex
	behind  *sync.Cond      // a queue went below the high-water mark, or a client left
	clients []*brokerClient // in the order they joined
}

// NewBroker returns an empty Broker.
func NewBroker(opts BrokerOptions) *Broker {
	if opts.MaxQueued <= 0 {
		opts.MaxQueued = DefaultBrokerMaxQueued
	}
	if opts.StallTimeout <= 0 {
		opts.StallTimeout = DefaultBrokerStallTimeout
	}
	b := &Broker{opts: opts}
	b.behind = sync.NewCond(&b.mu)
	return b
}

// highWater is how much may wait for a client before it counts as behind.
func (b *Broker) highWater() int { return b.opts.MaxQueued / 4 }

// brokerClient is one client: its queue and its writer's state.
type brokerClient struct {
	b    *Broker
	s    *Socket
	name string // "<user3>" (Chat)
	addr string // its address as Chat announces it
	line []byte // Chat: the start of a line whose end has not come

	mu      sync.Mutex
	wake    *sync.Cond
	queue   [][]byte
	queued  int   // bytes in queue and being written
	taken   int64 // bytes written to the client so far
	leaving bool  // the client ended: send what is queued, then end
	gone    bool  // destroyed or dropped: stop
}

// Serve relays s until it leaves or fails; it is the Server's handler.
func (b *Broker) Serve(s *Socket) {
	c := &brokerClient{b: b, s: s, name: "<user" + strconv.FormatUint(s.ID(), 10) + ">", addr: chatAddr(s)}
	c.wake = sync.NewCond(&c.mu)
	b.join(c)
	written := make(chan struct{})
	go func() {
		defer close(written)
		c.writeLoop()
	}()
	buf := make([]byte, 32<<10)
	var err error
	for {
		var n int
		n, err = s.Read(buf)
		if n > 0 {
			b.publish(c, buf[:n])
		}
		if err != nil {
			break
		}
	}
	b.leave(c)
	c.mu.Lock()
	if err == io.EOF {
		c.leaving = true
	} else {
		c.gone = true
	}
	c.wake.Signal()
	c.mu.Unlock()
	if err != io.EOF && !errors.Is(err, net.ErrClosed) {
		s.Destroy(err)
	}
	<-written
}

// ReadFrom relays r to every client, as the server's own sender
// (<user0> in Chat), until r ends.
func (b *Broker) ReadFrom(r io.Reader) (int64, error) {
	from := &brokerClient{b: b, name: "<user0>"}
	buf := make([]byte, 32<<10)
	var total int64
	for {
		n, err := r.Read(buf)
		if n > 0 {
			total += int64(n)
			b.publish(from, buf[:n])
		}
		if err != nil {
			b.flushLine(from)
			if err == io.EOF {
				err = nil
			}
			return total, err
		}
	}
}

// join adds c and, in Chat, tells everyone, c included, who it is and
// who was there, in ncat's words.
func (b *Broker) join(c *brokerClient) {
	b.mu.Lock()
	var drop []*brokerClient
	if b.opts.Chat {
		var others []string
		for _, o := range b.clients {
			others = append(others, o.addr+" as "+o.name)
		}
		if len(others) == 0 {
			others = []string{"nobody"}
		}
		msg := "<announce> " + c.addr + " is connected as " + c.name + ".\n" +
			"<announce> already connected: " + strings.Join(others, ", ") + ".\n"
		b.clients = append(b.clients, c)
		drop = b.sendLocked(nil, []byte(msg))
	} else {
		b.clients = append(b.clients, c)
	}
	b.mu.Unlock()
	b.drop(drop)
}

// leave removes c and, in Chat, sends the rest of its last line and tells
// the others it has gone.
func (b *Broker) leave(c *brokerClient) {
	b.flushLine(c)
	b.mu.Lock()
	for i, o := range b.clients {
		if o == c {
			b.clients = append(b.clients[:i], b.clients[i+1:]...)
			break
		}
	}
	var drop []*brokerClient
	if b.opts.Chat {
		drop = b.sendLocked(c, []byte("<announce> "+c.name+" is disconnected.\n"))
	}
	b.behind.Broadcast()
	b.mu.Unlock()
	b.drop(drop)
}

// publish sends what from sent to every other client: as it is, or in
// Chat as named, escaped lines.
func (b *Broker) publish(from *brokerClient, p []byte) {
	var msg []byte
	if b.opts.Chat {
		msg = from.chatLines(p)
		if len(msg) == 0 {
			return
		}
	} else {
		msg = append([]byte(nil), p...)
	}
	b.mu.Lock()
	drop := b.sendLocked(from, msg)
	b.mu.Unlock()
	b.drop(drop)
	b.waitBehind(from)
}

// waitBehind is the back-pressure: it returns once no client but from
// has the high-water mark or more waiting. The clients that took nothing
// at all during a whole StallTimeout of waiting are dropped.
func (b *Broker) waitBehind(from *brokerClient) {
	b.mu.Lock()
	behind := b.behindLocked(from)
	if len(behind) == 0 {
		b.mu.Unlock()
		return
	}
	expired := false
	t := time.AfterFunc(b.opts.StallTimeout, func() {
		b.mu.Lock()
		expired = true
		b.behind.Broadcast()
		b.mu.Unlock()
	})
	defer t.Stop()
	taken := map[*brokerClient]int64{}
	for _, c := range behind {
		taken[c] = c.progress()
	}
	for len(behind) > 0 {
		if expired {
			var stuck []*brokerClient
			for _, c := range behind {
				if c.progress() == taken[c] {
					c.mu.Lock()
					c.gone = true
					c.wake.Signal()
					c.mu.Unlock()
					stuck = append(stuck, c)
				}
				taken[c] = c.progress()
			}
			expired = false
			t.Reset(b.opts.StallTimeout)
			b.mu.Unlock()
			b.drop(stuck)
			b.mu.Lock()
		} else {
			b.behind.Wait()
		}
		behind = b.behindLocked(from)
		for _, c := range behind {
			if _, ok := taken[c]; !ok {
				taken[c] = c.progress()
			}
		}
	}
	b.mu.Unlock()
}

// behindLocked lists the clients but from that have the high-water mark
// or more waiting. The caller holds b.mu.
func (b *Broker) behindLocked(from *brokerClient) []*brokerClient {
	var behind []*brokerClient
	for _, c := range b.clients {
		if c == from {
			continue
		}
		c.mu.Lock()
		if !c.gone && !c.leaving && c.queued >= b.highWater() {
			behind = append(behind, c)
		}
		c.mu.Unlock()
	}
	return behind
}

// progress is how many bytes c has taken so far.
func (c *brokerClient) progress() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.taken
}

// flushLine sends the start of a line that will have no end (Chat).
func (b *Broker) flushLine(from *brokerClient) {
	if !b.opts.Chat || len(from.line) == 0 {
		return
	}
	msg := from.chatLine(from.line, []byte("\n"))
	from.line = nil
	b.mu.Lock()
	drop := b.sendLocked(from, msg)
	b.mu.Unlock()
	b.drop(drop)
}

// sendLocked queues msg for every client but from, and returns those it
// would take past MaxQueued, to be dropped once b.mu is released. The
// caller holds b.mu, which keeps each sender's messages in order and puts
// a Chat announcement before anything its client is sent afterwards.
func (b *Broker) sendLocked(from *brokerClient, msg []byte) []*brokerClient {
	var drop []*brokerClient
	for _, c := range b.clients {
		if c == from {
			continue
		}
		c.mu.Lock()
		switch {
		case c.gone || c.leaving:
		case c.queued+len(msg) > b.opts.MaxQueued:
			c.gone = true
			c.wake.Signal()
			drop = append(drop, c)
		default:
			c.queue = append(c.queue, msg)
			c.queued += len(msg)
			c.wake.Signal()
		}
		c.mu.Unlock()
	}
	return drop
}

// drop destroys the clients that fell too far behind and reports them.
func (b *Broker) drop(clients []*brokerClient) {
	for _, c := range clients {
		c.mu.Lock()
		queued := c.queued
		c.mu.Unlock()
		c.s.Destroy(nil)
		if b.opts.OnDrop != nil {
			b.opts.OnDrop(c.s, queued)
		}
	}
	if len(clients) > 0 {
		b.mu.Lock()
		b.behind.Broadcast()
		b.mu.Unlock()
	}
}

// writeLoop sends c's queue in order until c has gone, or has left and
// everything queued for it is sent; then it ends c.
func (c *brokerClient) writeLoop() {
	for {
		c.mu.Lock()
		for len(c.queue) == 0 && !c.leaving && !c.gone {
			c.wake.Wait()
		}
		if c.gone || len(c.queue) == 0 {
			leaving := c.leaving && !c.gone
			c.mu.Unlock()
			if leaving {
				c.s.End() //nolint:errcheck // reported through the hooks
			}
			return
		}
		msg := c.queue[0]
		c.queue[0] = nil
		c.queue = c.queue[1:]
		c.mu.Unlock()
		_, err := c.s.Write(msg)
		c.mu.Lock()
		high := c.b.highWater()
		caughtUp := c.queued >= high && c.queued-len(msg) < high
		c.queued -= len(msg)
		c.taken += int64(len(msg))
		if err != nil {
			c.gone = true
		}
		c.mu.Unlock()
		if caughtUp || err != nil {
			c.b.mu.Lock()
			c.b.behind.Broadcast()
			c.b.mu.Unlock()
		}
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				c.s.Destroy(err)
			}
			return
		}
	}
}

// chatLines turns what c sent into Chat lines: every whole line, named
// and escaped; the start of a line waits in c.line for its end.
func (c *brokerClient) chatLines(p []byte) []byte {
	var out []byte
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			c.line = append(c.line, p...)
			for len(c.line) >= maxChatLine {
				out = append(out, c.chatLine(c.line[:maxChatLine], []byte("\n"))...)
				c.line = append(c.line[:0], c.line[maxChatLine:]...)
			}
			return out
		}
		line := p[:i]
		if len(c.line) > 0 {
			line = append(c.line, line...)
			c.line = nil
		}
		end := []byte("\n")
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line, end = line[:n-1], []byte("\r\n")
		}
		out = append(out, c.chatLine(line, end)...)
		p = p[i+1:]
	}
	return out
}

// chatLine is one named, escaped line: "<user3> " + line + end. Printable
// text, UTF-8 included, and tabs are kept; every other byte (controls,
// DEL, a CR that does not end the line, bytes that are not UTF-8) is
// written \ooo in octal, as ncat writes them, so that no sender can move
// another's cursor, recolour the terminal or forge a name.
func (c *brokerClient) chatLine(line, end []byte) []byte {
	out := make([]byte, 0, len(c.name)+1+len(line)+len(end))
	out = append(out, c.name...)
	out = append(out, ' ')
	for len(line) > 0 {
		r, n := utf8.DecodeRune(line)
		if r == '\t' || (r != utf8.RuneError && unicode.IsPrint(r)) || (r == utf8.RuneError && n == 3) {
			out = append(out, line[:n]...)
		} else {
			for _, b := range line[:n] {
				out = append(out, '\\', '0'+b>>6, '0'+(b>>3)&7, '0'+b&7)
			}
		}
		line = line[n:]
	}
	return append(out, end...)
}

// chatAddr is a client's address as Chat announces it: the IP, or the
// socket path over IPC.
func chatAddr(s *Socket) string {
	if a := s.RemoteAddr(); a.Address != "" {
		return a.Address
	}
	if p := s.LocalAddr().Path; p != "" {
		return p
	}
	return s.RemoteAddr().Path
}
