package cmd

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"unicode/utf8"

	"github.com/nodenet/nodenet/blocklist"
	"github.com/spf13/cobra"
)

// BlockImportOptions is what `nodenet block import` runs with.
type BlockImportOptions struct {
	IO *IOStreams
	BlockFileOptions
	// Source is the file to read, "-" for stdin.
	Source string
	// Replace replaces the rules instead of adding to them.
	Replace bool
	// Type is "ipv4" or "ipv6" (--type), or "" to read it from each rule.
	Type string
}

// NewCmdBlockImport builds `nodenet block import`. runF, when not nil,
// receives the options instead of running them (for tests).
func NewCmdBlockImport(f *Factory, runF func(*BlockImportOptions) error) *cobra.Command {
	opts := &BlockImportOptions{IO: f.IO}
	var fl blockFlags
	cmd := &cobra.Command{
		Use:   "import FILE|-",
		Short: "Add rules from a file (blockList.fromJSON)",
		Long: `Add the rules in FILE (- for stdin) to the rule file, in their order, as
blockList.fromJSON() adds them to a list; with --replace, they replace
the rules instead.

FILE is a JSON array of rules (what "export" prints), or one rule per
line, blank lines and lines starting with "#" aside. A rule is an address,
START-END, NET/PREFIX, or a Node rule string ("Subnet: IPv4 10.0.0.0/8").

Unlike fromJSON, which skips what it cannot read, import is strict: a
rule that is not valid refuses the whole import, naming its line, and the
rule file is left as it was. So are a line (or a JSON string) longer than
64 KiB, which no rule is, and more rules than a rule file of 6 MiB holds.
FILE is read once: a pipe as a stream, a regular file of 1 to 24 MiB
whole, its two halves parsed at once.`,
		Example: `  nodenet block import bad-hosts.txt
  curl -s https://example.com/drop.txt | nodenet block import --replace -`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if opts.BlockFileOptions, err = fl.fileOptions(f); err != nil {
				return err
			}
			if opts.Type, err = fl.family(); err != nil {
				return err
			}
			opts.Source = args[0]
			if runF != nil {
				return runF(opts)
			}
			return blockImportRun(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Replace, "replace", false, "replace the rules instead of adding to them")
	addBlockFlags(cmd, &fl, "the rules' family: ipv4 or ipv6 (default: IPv6 when the address has a ':')")
	return cmd
}

func blockImportRun(opts *BlockImportOptions) error {
	// Memory held is the rules read (bounded by the largest rule file) and
	// one buffer: a soft limit keeps the collector from letting the heap
	// double behind them.
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(blockImportMemory))
	// Below that limit, the collector has nothing to do: what is
	// allocated is kept to the end.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	name := opts.Source
	var rules *blocklist.Batch
	var err error
	if name == "-" {
		rules, err = parseImport("stdin", opts.IO.In, opts.Type)
	} else {
		f, oerr := os.Open(name)
		if oerr != nil {
			return oerr
		}
		defer f.Close()
		data, whole := readImportWhole(f)
		if whole && opts.Type == "" {
			if done, err := blockImportFast(opts, data); done {
				return err
			}
		}
		rules, err = parseImportRead(name, f, data, whole, opts.Type)
	}
	if err != nil {
		return err
	}
	return blockUpdate(opts.BlockFileOptions, func(b *blocklist.BlockList) error {
		if opts.Replace {
			b.Reset()
		}
		b.AddBatch(rules)
		return nil
	})
}

const (
	// blockImportMaxLine is the longest line, or JSON string, that import
	// reads: a rule takes less than 100 bytes (an address with a zone
	// more), and a longer line is refused without being held whole.
	blockImportMaxLine = 64 << 10
	// blockImportMemory is the soft memory limit while importing.
	blockImportMemory = 48 << 20
	// blockQuoteMax is how much of an input an error message quotes.
	blockQuoteMax = 64
	// blockRuleFileMin is the fewest bytes a rule takes in a rule file:
	// `  "Address: IPv4 0.0.0.0",` and a newline.
	blockRuleFileMin = 26
)

// parseImport reads every rule of an import, strictly: the first one that
// is not valid is an error naming its line. It reads in one pass, with
// one buffer: a line, or a JSON string, longer than blockImportMaxLine is
// refused where it starts, and an import of more rules than the largest
// rule file holds is refused once it has that many.
func parseImport(name string, r io.Reader, family string) (*blocklist.Batch, error) {
	im := &importer{name: name, r: bufio.NewReaderSize(r, blockImportMaxLine), line: 1, family: family}
	if err := im.parse(); err != nil {
		return nil, err
	}
	return &im.rules, nil
}

// blockImportWhole is the size up to which an import from a regular file
// is read whole and parsed in two halves at once; a larger one (comments,
// or more rules than a rule file takes) is read as a stream.
const blockImportWhole = 4 * blocklist.MaxFileSize

// readImportWhole reads a regular file of 1 MiB to blockImportWhole
// whole, to parse it in two halves at once, and returns its contents and
// true. For any other file it returns nil and false, the file's offset at
// its start, and the file is read as a stream.
func readImportWhole(f *os.File) ([]byte, bool) {
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() < 1<<20 || fi.Size() > blockImportWhole || runtime.GOMAXPROCS(0) < 2 {
		return nil, false
	}
	// Read in two halves at once: the memory the file is read into is
	// new to the process, and the system gives it at two places at once.
	size := fi.Size()
	data := make([]byte, size)
	mid := size / 2
	second := make(chan error, 1)
	go func() {
		_, err := f.ReadAt(data[mid:], mid)
		second <- err
	}()
	_, err = f.ReadAt(data[:mid], 0)
	if err2 := <-second; err != nil || err2 != nil {
		// The file shrank (or cannot be read): read as a stream, which
		// says what is wrong. (ReadAt leaves the offset at the start.)
		return nil, false
	}
	var c [1]byte
	if k, _ := f.ReadAt(c[:], size); k != 0 {
		// The file grew meanwhile: read as a stream, from the start.
		return nil, false
	}
	return data, true
}

// blockImportFast imports data, a file read whole, the fast way when
// blocklist.Import has one (rule strings into an empty list), and reports
// whether it did: otherwise nothing was done.
func blockImportFast(opts *BlockImportOptions, data []byte) (bool, error) {
	if t := bytes.TrimLeft(data, " \t\r\n"); len(t) == 0 || t[0] != '[' {
		return false, nil
	}
	if opts.Default {
		// The default rule file's folder is made by blockUpdate, once the
		// import is known to be valid.
		if _, err := os.Stat(filepath.Dir(opts.File)); err != nil {
			return false, nil
		}
	}
	done, err := blocklist.Import(opts.File, data, opts.Replace)
	if err != nil {
		return true, blockStoreError(err)
	}
	return done, nil
}

// parseImportFile is parseImport for a file: a regular file of 1 MiB to
// blockImportWhole is read whole and parsed in two halves at once, split
// at a line break between two rules, each half with its own buffer. On
// any problem in either half it is parsed again from the start, as a
// whole, which reports the first problem as parseImport does.
func parseImportFile(name string, f *os.File, family string) (*blocklist.Batch, error) {
	data, whole := readImportWhole(f)
	return parseImportRead(name, f, data, whole, family)
}

// parseImportRead is parseImportFile, once readImportWhole has read data
// (the whole file when whole is set).
func parseImportRead(name string, f *os.File, data []byte, whole bool, family string) (*blocklist.Batch, error) {
	if !whole {
		return parseImport(name, f, family)
	}
	rules := parseImportRuleFile(data, family)
	if rules == nil {
		rules = parseImportHalves(name, data, family)
	}
	if rules != nil {
		// The rules hold nothing of data: its memory can take the text of
		// the rule file to write.
		rules.Recycle(data)
		return rules, nil
	}
	return parseImport(name, bytes.NewReader(data), family)
}

// parseImportRuleFile reads an import that is a rule file (a JSON array of
// Node's rule strings, what export prints) as `block check` loads one, and
// returns its rules; or nil when it is not one, or is one that import
// refuses (a string longer than blockImportMaxLine, too many rules), which
// the importer then reads (and names the problem of). The rules are the
// importer's: a rule string means one rule whatever reads it, with
// --type unset.
func parseImportRuleFile(data []byte, family string) *blocklist.Batch {
	if family != "" {
		return nil
	}
	if t := bytes.TrimLeft(data, " \t\r\n"); len(t) == 0 || t[0] != '[' {
		return nil
	}
	var rules blocklist.Batch
	longest, err := rules.ParseFile(data)
	if err != nil || longest > blockImportMaxLine || rules.Len()*blockRuleFileMin > blocklist.MaxFileSize {
		return nil
	}
	return &rules
}

// parseImportHalves parses data in two halves at once and returns its
// rules, or nil when there is no place to split it or either half has a
// problem.
func parseImportHalves(name string, data []byte, family string) *blocklist.Batch {
	i := 0
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n') {
		i++
	}
	json := i < len(data) && data[i] == '['
	// The second half starts after a line break: for JSON, one after a
	// comma. A line break cannot be in a JSON string, and so neither can
	// the comma: the first half ends with an element and its comma.
	sep := []byte{'\n'}
	if json {
		sep = []byte(",\n")
	}
	mid := len(data) / 2
	j := bytes.Index(data[mid:], sep)
	if j < 0 {
		return nil
	}
	split := mid + j + len(sep)
	// JSON is read through the importer's reader; lines straight from
	// data.
	first := &importer{name: name, line: 1, family: family, part: firstPart}
	second := &importer{name: name, line: 1 + bytes.Count(data[:split], []byte{'\n'}), family: family, part: secondPart, json: json}
	parseHalf := func(im *importer, half []byte) error {
		if !json {
			return im.linesIn(half)
		}
		im.r = bufio.NewReaderSize(bytes.NewReader(half), blockImportMaxLine)
		return im.parse()
	}
	done := make(chan error, 1)
	go func() { done <- parseHalf(second, data[split:]) }()
	err := parseHalf(first, data[:split])
	if err2 := <-done; err != nil || err2 != nil {
		return nil
	}
	if json != first.json || json != second.json {
		return nil
	}
	first.rules.Append(&second.rules)
	if first.rules.Len()*blockRuleFileMin > blocklist.MaxFileSize {
		return nil // parsed again, to say at which line
	}
	return &first.rules
}

// importer reads an import's rules, counting lines as it goes.
type importer struct {
	name   string
	r      *bufio.Reader
	line   int // the line of the next byte, from 1
	family string
	rules  blocklist.Batch
	part   importPart
	json   bool // the input is a JSON array
}

// importPart is what part of an import an importer reads: the zero value
// is the whole of it.
type importPart int

const (
	// firstPart is the start of an import, up to a line break: in JSON,
	// one after a comma between two elements.
	firstPart importPart = iota + 1
	// secondPart is the rest, from there: for JSON, the array's elements
	// from one after a comma.
	secondPart
)

// parse reads the rules.
func (im *importer) parse() error {
	if im.part == secondPart {
		if im.json {
			return im.jsonElements()
		}
		return im.lines()
	}
	// The first byte that is not space tells the format.
	c, err := im.skipSpace()
	switch {
	case err == io.EOF:
		return nil
	case err != nil:
		return err
	case c == '[':
		im.json = true
		im.r.ReadByte() //nolint:errcheck // peeked
		return im.jsonArray()
	}
	return im.lines()
}

// add reads one rule, found on line.
func (im *importer) add(line int, s []byte) error {
	if err := im.rules.ParseRule(s, im.family); err != nil {
		return fmt.Errorf("%s:%d: %s: %w", im.name, line, blockQuote(s), boundedError{err})
	}
	if im.rules.Len()*blockRuleFileMin > blocklist.MaxFileSize {
		return usageErrorf("%s:%d: more rules than a rule file holds (%d MiB at most): %w", im.name, line, blocklist.MaxFileSize>>20, blocklist.ErrTooLarge)
	}
	return nil
}

// skipSpace reads past JSON's white space and returns the next byte,
// unread.
func (im *importer) skipSpace() (byte, error) {
	for {
		c, err := im.r.ReadByte()
		if err != nil {
			return 0, err
		}
		switch c {
		case '\n':
			im.line++
		case ' ', '\t', '\r':
		default:
			im.r.UnreadByte() //nolint:errcheck // just read
			return c, nil
		}
	}
}

// lines reads one rule per line; blank lines and lines starting with "#"
// aside.
func (im *importer) lines() error {
	for {
		line := im.line
		s, err := im.r.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			if t := bytes.TrimLeft(s, " \t\r"); len(t) > 0 && t[0] == '#' {
				// A long comment. (s, in the reader's buffer, is gone.)
				if err := im.skipLine(); err != io.EOF {
					if err != nil {
						return err
					}
					continue
				}
				return nil
			} else {
				return usageErrorf("%s:%d: a line longer than %d KiB, which no rule is, starting %s", im.name, line, blockImportMaxLine>>10, strconv.Quote(string(s[:blockQuoteMax])))
			}
		}
		if len(s) > 0 && s[len(s)-1] == '\n' {
			im.line++
		}
		if t := bytes.TrimSpace(s); len(t) > 0 && t[0] != '#' {
			if aerr := im.add(line, t); aerr != nil {
				return aerr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// linesIn reads data as lines reads its reader, one rule per line, from
// memory: for a half of an import that parseImportHalves has whole. Any
// problem is an error, for which the import is read again as a stream
// (which names it).
func (im *importer) linesIn(data []byte) error {
	for len(data) > 0 {
		line := im.line
		s := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			s, data = data[:i+1], data[i+1:]
			im.line++
		} else {
			data = nil
		}
		if len(s) > blockImportMaxLine {
			// Only a comment may be longer than lines' buffer, which
			// tells it by what the buffer holds.
			if t := bytes.TrimLeft(s[:blockImportMaxLine], " \t\r"); len(t) > 0 && t[0] == '#' {
				continue
			}
			return errors.New("a line longer than the buffer")
		}
		if t := bytes.TrimSpace(s); len(t) > 0 && t[0] != '#' {
			if err := im.add(line, t); err != nil {
				return err
			}
		}
	}
	return nil
}

// skipLine reads up to the end of the line, without holding it.
func (im *importer) skipLine() error {
	for {
		_, err := im.r.ReadSlice('\n')
		if err != bufio.ErrBufferFull {
			if err == nil {
				im.line++
			}
			return err
		}
	}
}

// jsonArray reads the strings of a JSON array, after its '['.
func (im *importer) jsonArray() error {
	if c, err := im.skipSpace(); err == nil && c == ']' {
		im.r.ReadByte() //nolint:errcheck // peeked
		return im.jsonEnd()
	}
	return im.jsonElements()
}

// jsonElements reads the elements of a JSON array, from the first one (or
// one after a comma) to the closing ']' and what follows it; for the first
// part of an import, up to its end after a comma.
func (im *importer) jsonElements() error {
	invalid := func(format string, a ...any) error {
		return usageErrorf("%s:%d: invalid JSON: %s", im.name, im.line, fmt.Sprintf(format, a...))
	}
	next := func() (byte, error) {
		c, err := im.skipSpace()
		if err == io.EOF {
			return 0, invalid("unexpected end")
		}
		if err == nil {
			im.r.ReadByte() //nolint:errcheck // peeked
		}
		return c, err
	}
	for {
		c, err := next()
		if err != nil {
			return err
		}
		if c != '"' {
			if c == ']' {
				return invalid("want a string after ','")
			}
			return usageErrorf("%s:%d: want a rule string, found %s", im.name, im.line, blockQuote([]byte{c}))
		}
		line := im.line
		s, err := im.jsonString()
		if err != nil {
			return err
		}
		if err := im.add(line, s); err != nil {
			return err
		}
		if c, err = next(); err != nil {
			return err
		}
		if c == ']' {
			return im.jsonEnd()
		}
		if c != ',' {
			return invalid("want ',' or ']', found %s", blockQuote([]byte{c}))
		}
		if im.part == firstPart {
			if _, err := im.skipSpace(); err == io.EOF {
				return nil // the second part goes on
			}
		}
	}
}

// jsonEnd checks that nothing but space follows the array.
func (im *importer) jsonEnd() error {
	switch c, err := im.skipSpace(); {
	case err == io.EOF:
		if im.part == firstPart {
			return errors.New("the array ends in the first part") // parsed again as a whole
		}
		return nil
	case err != nil:
		return err
	default:
		return usageErrorf("%s:%d: invalid JSON: more after the array: %s", im.name, im.line, blockQuote([]byte{c}))
	}
}

// jsonString reads a JSON string, after its opening quote, and returns its
// value: in the read buffer, when it has no escape.
func (im *importer) jsonString() ([]byte, error) {
	var raw []byte // what was read of a string with escapes
	for {
		s, err := im.r.ReadSlice('"')
		switch {
		case err == bufio.ErrBufferFull || len(raw)+len(s) > blockImportMaxLine:
			q := append(raw, s...)
			return nil, usageErrorf("%s:%d: a string longer than %d KiB, which no rule is, starting %s", im.name, im.line, blockImportMaxLine>>10, strconv.Quote(string(q[:min(len(q), blockQuoteMax)])))
		case err == io.EOF:
			return nil, usageErrorf("%s:%d: invalid JSON: unexpected end in a string", im.name, im.line)
		case err != nil:
			return nil, err
		}
		s = s[:len(s)-1]
		if raw == nil && plainJSON(s) {
			return s, nil
		}
		raw = append(raw, s...)
		// An odd number of backslashes before the quote escapes it.
		n := 0
		for n < len(raw) && raw[len(raw)-1-n] == '\\' {
			n++
		}
		if n%2 == 1 {
			raw = append(raw, '"')
			continue
		}
		for _, c := range raw {
			if c < 0x20 {
				return nil, usageErrorf("%s:%d: invalid JSON: a control character in a string", im.name, im.line)
			}
		}
		var v string
		if err := json.Unmarshal(append(append([]byte{'"'}, raw...), '"'), &v); err != nil {
			return nil, usageErrorf("%s:%d: invalid JSON: %v", im.name, im.line, err)
		}
		return []byte(v), nil
	}
}

// plainJSON reports whether s, the bytes between two quotes, is a JSON
// string without escapes or control characters.
func plainJSON(s []byte) bool {
	for _, c := range s {
		if c < 0x20 || c == '\\' {
			return false
		}
	}
	return true
}

// blockQuote quotes an input for an error message: at most blockQuoteMax
// bytes of it, and how many more there are.
func blockQuote(s []byte) string {
	if len(s) <= blockQuoteMax {
		return strconv.Quote(string(s))
	}
	cut := blockQuoteMax
	for cut > blockQuoteMax-utf8.UTFMax && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s... (%d more bytes)", strconv.Quote(string(s[:cut])), len(s)-cut)
}

// boundedError is an error whose message is cut to a few hundred bytes:
// Node's messages may quote the input whole.
type boundedError struct{ err error }

func (e boundedError) Error() string {
	msg := e.err.Error()
	const max = 4 * blockQuoteMax
	if len(msg) <= max {
		return msg
	}
	cut := max
	for cut > max-utf8.UTFMax && !utf8.RuneStart(msg[cut]) {
		cut--
	}
	return fmt.Sprintf("%s... (%d more bytes)", msg[:cut], len(msg)-cut)
}

func (e boundedError) Unwrap() error { return e.err }
