package cmd

import (
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Progress redraw intervals: often on a terminal, where the line is
// redrawn in place, and every 5 s as plain lines otherwise (a log).
const (
	progressTTYInterval   = 250 * time.Millisecond
	progressPlainInterval = 5 * time.Second
)

// progress is --progress: it counts the bytes that pass its reader and
// writer, and prints bytes, rate and, when the size to send is known,
// percent and ETA on w; a summary line at the end. Counting through a
// wrapper costs the relay its splice and sendfile, so it exists only
// when asked for.
type progress struct {
	w     io.Writer
	tty   bool
	total int64 // bytes stdin has to send; 0 when unknown

	sent atomic.Int64
	recv atomic.Int64

	now      func() time.Time
	interval time.Duration

	mu      sync.Mutex
	begin   time.Time
	started bool
	quit    chan struct{}
	done    chan struct{}
}

func newProgress(w io.Writer, tty bool, total int64) *progress {
	p := &progress{w: w, tty: tty, total: total, now: time.Now, interval: progressPlainInterval}
	if tty {
		p.interval = progressTTYInterval
	}
	return p
}

// start starts the clock and the redraws.
func (p *progress) start() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.started {
		return
	}
	p.started, p.begin = true, p.now()
	p.quit, p.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(p.done)
		t := time.NewTicker(p.interval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				p.draw(false)
			case <-p.quit:
				return
			}
		}
	}()
}

// stop ends the redraws and prints the summary line.
func (p *progress) stop() {
	p.mu.Lock()
	started := p.started
	p.mu.Unlock()
	if !started {
		return
	}
	close(p.quit)
	<-p.done
	p.draw(true)
}

// draw prints one line: redrawn in place on a terminal.
func (p *progress) draw(final bool) {
	line := p.line(final)
	switch {
	case p.tty && final:
		fmt.Fprintf(p.w, "\r%s\x1b[K\n", line)
	case p.tty:
		fmt.Fprintf(p.w, "\r%s\x1b[K", line)
	default:
		fmt.Fprintln(p.w, line)
	}
}

// line is "progress: sent 12.0 MiB of 26.7 MiB (45%) at 4.0 MiB/s, ETA 4s;
// received 1.2 KiB at 410 B/s", and at the end "progress: done in 6.5s:
// sent 26.7 MiB at 4.1 MiB/s; received 1.2 KiB at 189 B/s".
func (p *progress) line(final bool) string {
	elapsed := p.now().Sub(p.begin)
	sent, recv := p.sent.Load(), p.recv.Load()
	rate := func(n int64) float64 {
		if elapsed <= 0 {
			return 0
		}
		return float64(n) / elapsed.Seconds()
	}
	s := "progress: "
	if final {
		s += "done in " + roundDuration(elapsed).String() + ": "
	}
	s += "sent " + formatBytes(float64(sent))
	if p.total > 0 && !final {
		pct := min(100, sent*100/p.total)
		s += " of " + formatBytes(float64(p.total)) + " (" + strconv.FormatInt(pct, 10) + "%)"
	}
	s += " at " + formatBytes(rate(sent)) + "/s"
	if p.total > 0 && !final {
		if r := rate(sent); r > 0 && sent < p.total {
			eta := time.Duration(float64(p.total-sent) / r * float64(time.Second))
			s += ", ETA " + roundDuration(eta).String()
		}
	}
	return s + "; received " + formatBytes(float64(recv)) + " at " + formatBytes(rate(recv)) + "/s"
}

// roundDuration keeps a duration readable: seconds to a tenth under a
// minute, whole seconds above.
func roundDuration(d time.Duration) time.Duration {
	if d < time.Minute {
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Second)
}

// formatBytes is n in B, KiB, MiB, GiB or TiB with three significant
// figures.
func formatBytes(n float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i := 0
	for n >= 1024 && i < len(units)-1 {
		n /= 1024
		i++
	}
	if i == 0 {
		return strconv.FormatFloat(n, 'f', 0, 64) + " B"
	}
	prec := 2
	switch {
	case n >= 100:
		prec = 0
	case n >= 10:
		prec = 1
	}
	return strconv.FormatFloat(n, 'f', prec, 64) + " " + units[i]
}

// sentReader counts what is read from r (on its way to the socket).
func (p *progress) sentReader(r io.Reader) io.Reader { return &countReader{r: r, n: &p.sent} }

// receivedWriter counts what is written to w (from the socket).
func (p *progress) receivedWriter(w io.Writer) io.Writer { return &countWriter{w: w, n: &p.recv} }

type countReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n.Add(int64(n))
	return n, err
}

type countWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c *countWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n.Add(int64(n))
	return n, err
}
