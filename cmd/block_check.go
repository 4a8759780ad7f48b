package cmd

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"

	"github.com/nodenet/nodenet/blocklist"
	"github.com/spf13/cobra"
)

// BlockCheckOptions is what `nodenet block check` runs with.
type BlockCheckOptions struct {
	IO *IOStreams
	BlockFileOptions

	// Addresses are the arguments to check. When FromStdin is set there
	// are none, and each line of stdin is an address.
	Addresses []string
	FromStdin bool

	// Type is "ipv4" or "ipv6" (--type), or "" to read it from each
	// address.
	Type  string
	Quiet bool // -q: print nothing, answer with the exit status only

	// CacheDir is where the rule file's intervals are cached between
	// runs ($XDG_CACHE_HOME/nodenet/blocklist); "" with --no-cache.
	CacheDir string
}

// NewCmdBlockCheck builds `nodenet block check`. runF, when not nil,
// receives the options instead of running them (for tests).
func NewCmdBlockCheck(f *Factory, runF func(*BlockCheckOptions) error) *cobra.Command {
	opts := &BlockCheckOptions{IO: f.IO}
	var fl blockFlags
	var noCache bool
	cmd := &cobra.Command{
		Use:   "check [ADDRESS...]",
		Short: "Check addresses against the rules (blockList.check)",
		Long: `Print "ADDRESS blocked" or "ADDRESS allowed" for each ADDRESS, as
blockList.check(address, type) answers. An address that cannot be read is
allowed, as in Node.

With no ADDRESS, each line of stdin is an address; a trailing "\n", and a
"\r" before it, are not part of it. Answers are streamed: each is printed
before nodenet waits for more input.

Checking is logarithmic in the number of rules. A rule file of 100,000
rules is parsed in about 10 milliseconds; what its rules block (sorted
intervals) is then kept in $XDG_CACHE_HOME/nodenet/blocklist, under the
file's name, checksums of its contents and its stamp (inode, times), and
read back by the next check of the same file in a few milliseconds (the
file is not read again when its stamp is unchanged and was already old
when the entry was written). A changed file is parsed again. --no-cache
neither reads nor writes the cache.

Exit status: 0 when every address is blocked (and when there are none),
1 otherwise, 2 on a usage error, like grep.`,
		Example: `  nodenet block check 10.0.0.5
  nodenet block check -q "$peer" && echo "blocked"
  ss -Htn | awk '{print $5}' | sed 's/:[0-9]*$//; s/^\[//; s/\]$//' | nodenet block check`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if opts.BlockFileOptions, err = fl.fileOptions(f); err != nil {
				return err
			}
			if opts.Type, err = fl.family(); err != nil {
				return err
			}
			opts.Addresses = args
			opts.FromStdin = len(args) == 0
			opts.Quiet = f.Quiet
			if !noCache {
				opts.CacheDir = blockCacheDir()
			}
			if runF != nil {
				return runF(opts)
			}
			return blockCheckRun(opts)
		},
	}
	cmd.Flags().BoolVar(&noCache, "no-cache", false, "parse the rule file, without reading or writing the cache of its intervals")
	addBlockFlags(cmd, &fl, "check every address as ipv4 or ipv6 (default: IPv6 when the address has a ':')")
	return cmd
}

func blockCheckRun(opts *BlockCheckOptions) error {
	// Loading a large rule file allocates what it keeps and little else:
	// the collector, which would run several times meanwhile, and once
	// more after, would find nothing to free. Answering allocates nothing
	// per line. So it stays off, with a memory limit as the backstop, set
	// well above what the rules take.
	gc := debug.SetGCPercent(-1)
	limit := debug.SetMemoryLimit(-1)
	defer func() {
		debug.SetMemoryLimit(limit)
		debug.SetGCPercent(gc)
	}()
	b, err := blockLoadIndex(opts.BlockFileOptions, opts.CacheDir)
	if err != nil {
		return err
	}
	// runtime.ReadMemStats rather than runtime/metrics: the latter's
	// package init alone costs every nodenet start about 0.15 ms.
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	debug.SetMemoryLimit(int64(ms.HeapAlloc) + blockCheckSlack)
	c := &blockChecker{list: b, family: opts.Type, quiet: opts.Quiet, w: opts.IO.Out, all: true}
	if opts.FromStdin {
		err = c.stream(opts.IO.In)
	} else {
		for _, a := range opts.Addresses {
			if err = c.answer([]byte(a)); err != nil {
				break
			}
		}
	}
	if ferr := c.flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return err
	}
	if !c.all {
		return &ExitError{Code: exitFailure}
	}
	return nil
}

// blockCheckSlack is how far the heap may grow, while answering, before
// the collector runs.
const blockCheckSlack = 64 << 20

const (
	blockCheckInBuffer  = 256 << 10 // the read buffer; a longer line streams through it
	blockCheckOutBuffer = 64 << 10  // answers are written in pieces of about this
)

// blockCacheDir is where block check caches rule files' intervals, or ""
// when the system names no cache directory.
func blockCacheDir() string {
	d, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "nodenet", "blocklist")
}

// blockLoadIndex reads the rule file for checks, through the cache in
// cacheDir when it is not "". The default file may not exist yet: then
// there are no rules.
func blockLoadIndex(o BlockFileOptions, cacheDir string) (blockCheckList, error) {
	x, err := blocklist.LoadIndex(o.File, cacheDir)
	if err != nil {
		if o.Default && errors.Is(err, fs.ErrNotExist) {
			return blocklist.New(), nil
		}
		return nil, blockStoreError(err)
	}
	return x, nil
}

// blockCheckList is what block check checks against: a rule file's
// Index, or an empty BlockList.
type blockCheckList interface {
	CheckBytes(address []byte, family string) (bool, error)
	CheckMany(addrs [][]byte, families []string, blocked []bool)
}

// blockChecker answers addresses and collects the answers in out.
type blockChecker struct {
	list   blockCheckList
	family string
	quiet  bool
	w      io.Writer
	out    []byte
	all    bool // every address so far was blocked
	inBuf  int  // the read buffer's size (blockCheckInBuffer, less in tests)

	// Lines waiting to be answered together (answerMany).
	lines    [blockCheckGroup][]byte
	families [blockCheckGroup]string
	blocked  [blockCheckGroup]bool
	nlines   int
}

// blockCheckGroup is how many lines are looked up at once: enough for
// their lookups' cache misses to overlap (see blocklist.CheckMany).
const blockCheckGroup = 64

// answer checks one address: an argument, or a line of the read buffer,
// which is not kept.
func (c *blockChecker) answer(a []byte) error {
	blocked, _ := c.list.CheckBytes(a, c.familyOf(a)) // unreadable: allowed, as in Node
	return c.print(a, blocked)
}

// familyOf is the family a is read in: --type's, or its own form's.
func (c *blockChecker) familyOf(a []byte) string {
	if c.family != "" {
		return c.family
	}
	return blockFamilyOf(a)
}

// print records the answer for a.
func (c *blockChecker) print(a []byte, blocked bool) error {
	c.all = c.all && blocked
	if c.quiet {
		return nil
	}
	c.out = append(c.out, a...)
	if blocked {
		c.out = append(c.out, " blocked\n"...)
	} else {
		c.out = append(c.out, " allowed\n"...)
	}
	if len(c.out) >= blockCheckOutBuffer {
		return c.flush()
	}
	return nil
}

// add holds a line to be answered with others (answerMany answers them
// when there are blockCheckGroup).
func (c *blockChecker) add(a []byte) error {
	c.lines[c.nlines], c.families[c.nlines] = a, c.familyOf(a)
	c.nlines++
	if c.nlines == blockCheckGroup {
		return c.answerMany()
	}
	return nil
}

// answerMany answers the lines held by add, in their order.
func (c *blockChecker) answerMany() error {
	n := c.nlines
	if n == 0 {
		return nil
	}
	c.nlines = 0
	c.list.CheckMany(c.lines[:n], c.families[:n], c.blocked[:n]) // unreadable: allowed, as in Node
	for i, a := range c.lines[:n] {
		if err := c.print(a, c.blocked[i]); err != nil {
			return err
		}
	}
	return nil
}

func (c *blockChecker) flush() error {
	if len(c.out) == 0 {
		return nil
	}
	_, err := c.w.Write(c.out)
	c.out = c.out[:0]
	return err
}

// stream answers each line of r. The answers so far are written before
// every read, which may block on a pipe or a terminal, so that no answer
// waits for the next line; with a full pipe a read returns many lines and
// their answers go out together.
func (c *blockChecker) stream(r io.Reader) error {
	size := c.inBuf
	if size < blockCheckHead {
		size = blockCheckInBuffer
	}
	buf := make([]byte, size)
	start, end := 0, 0 // buf[start:end] is read and not yet answered
	for {
		for {
			i := bytes.IndexByte(buf[start:end], '\n')
			if i < 0 {
				break
			}
			line := buf[start : start+i]
			if n := len(line); n > 0 && line[n-1] == '\r' {
				line = line[:n-1]
			}
			if err := c.add(line); err != nil {
				return err
			}
			start += i + 1
		}
		// The lines held lie in buf, before the partial line moves.
		if err := c.answerMany(); err != nil {
			return err
		}
		// Keep the partial line at the front.
		end = copy(buf, buf[start:end])
		start = 0
		if err := c.flush(); err != nil {
			return err
		}
		if end == len(buf) {
			// A line as long as the buffer: answered as it streams.
			var eof bool
			var err error
			if end, eof, err = c.longLine(r, buf); err != nil || eof {
				return err
			}
			continue
		}
		n, err := r.Read(buf[end:])
		end += n
		if err == io.EOF {
			if end > 0 { // a last line without "\n"
				return c.answer(trimCR(buf[:end]))
			}
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// trimCR drops a "\r" at the end of a line.
func trimCR(line []byte) []byte {
	if n := len(line); n > 0 && line[n-1] == '\r' {
		return line[:n-1]
	}
	return line
}

// blockCheckHead is how much of a long line longLine keeps to check: an
// address is read up to a zone's "%" (the zone is ignored, as libuv
// ignores it), and an address before one takes at most 45 bytes.
const blockCheckHead = 128

// longLine answers a line too long for the buffer, which holds its first
// bytes (buf is full, with no "\n"), reading the rest from r in buf and
// printing the line as it goes. It returns how many bytes after the
// line's "\n" it leaves at the front of buf, and whether r has ended
// with the line.
// The line is not held: its answer is its head's, with the family read
// from the whole line (a ':' anywhere makes it IPv6).
func (c *blockChecker) longLine(r io.Reader, buf []byte) (int, bool, error) {
	var head [blockCheckHead]byte
	nhead := 0
	colon := false
	cr := false // a "\r" held back: it is not printed if a "\n" follows
	content := func(p []byte) error {
		if nhead < len(head) {
			nhead += copy(head[nhead:], p)
		}
		colon = colon || bytes.IndexByte(p, ':') >= 0
		if c.quiet {
			return nil
		}
		for len(p) > 0 {
			n := min(len(p), blockCheckOutBuffer)
			c.out = append(c.out, p[:n]...)
			p = p[n:]
			if err := c.flush(); err != nil {
				return err
			}
		}
		return nil
	}
	feed := func(p []byte) error {
		if len(p) == 0 {
			return nil
		}
		if cr {
			cr = false
			if err := content([]byte{'\r'}); err != nil {
				return err
			}
		}
		if p[len(p)-1] == '\r' {
			cr, p = true, p[:len(p)-1]
		}
		return content(p)
	}
	// A "\r" held at the end is not part of the line, before a "\n" or
	// at the end of the input, as for short lines.
	finish := func() error {
		fam := c.family
		if fam == "" {
			fam = blocklist.IPv4
			if colon {
				fam = blocklist.IPv6
			}
		}
		blocked, _ := c.list.CheckBytes(head[:nhead], fam)
		c.all = c.all && blocked
		if c.quiet {
			return nil
		}
		if blocked {
			c.out = append(c.out, " blocked\n"...)
		} else {
			c.out = append(c.out, " allowed\n"...)
		}
		return nil
	}
	if err := feed(buf); err != nil {
		return 0, false, err
	}
	for {
		n, rerr := r.Read(buf)
		if rerr != nil && rerr != io.EOF {
			return 0, false, rerr
		}
		if i := bytes.IndexByte(buf[:n], '\n'); i >= 0 {
			if err := feed(buf[:i]); err != nil {
				return 0, false, err
			}
			if err := finish(); err != nil {
				return 0, false, err
			}
			// At the end of the input, the next read says so again.
			return copy(buf, buf[i+1:n]), false, nil
		}
		if err := feed(buf[:n]); err != nil {
			return 0, false, err
		}
		if rerr == io.EOF {
			return 0, true, finish()
		}
	}
}
