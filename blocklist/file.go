package blocklist

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
)

// A rule file is a JSON array of Node's rule strings: what toJSON() returns
// and fromJSON() reads, in the order Node lists them (see Rules). Files
// written here have one rule per line:
//
//	[
//	  "Address: IPv4 10.0.0.5",
//	  "Subnet: IPv4 192.168.1.0/24",
//	  "Range: IPv4 10.0.0.1-10.0.0.10"
//	]
//
// Reading is strict, unlike fromJSON: an element that is not a rule string
// with a valid address and prefix is an error naming its line and column,
// so that a rule is never dropped silently by reading and writing a file
// back. An empty file holds no rules.

// LoadFile reads a rule file. A file that cannot be read or parsed is a
// *FileError, giving the position of the problem; a bad rule wraps Node's
// *Error. The BlockList lists the rules in the file's order, and is indexed
// and ready for concurrent checks.
//
// LoadFile reads only a regular file (a link to one is followed) of at most
// MaxFileSize bytes: anything else is refused without being read, with
// ErrNotRegular or ErrTooLarge.
func LoadFile(path string) (*BlockList, error) {
	f, size, err := openRuleFile(path)
	if err != nil {
		return nil, &FileError{Path: path, Err: err}
	}
	defer f.Close()
	var data []byte
	if size >= parallelScanMin && runtime.GOMAXPROCS(0) > 1 {
		var b *BlockList
		if b, data = loadHalves(f, int(size)); b != nil {
			return b, nil
		}
		// data, when not nil, is the whole file, with a problem: Parse
		// reports it. Otherwise it is read again, in one go.
	}
	if data == nil {
		// ReadAt (above) leaves the offset at the start.
		if data, err = readAll(path, f, size); err != nil {
			return nil, err
		}
	}
	return parseNamed(path, data)
}

// parseNamed is Parse for the contents of the rule file at path: a
// *FileError names the file.
func parseNamed(path string, data []byte) (*BlockList, error) {
	b, err := Parse(data)
	if err != nil {
		var fe *FileError
		if errors.As(err, &fe) {
			fe.Path = path
		}
		return nil, err
	}
	return b, nil
}

// readAll reads a rule file, opened, of size bytes (as it was found): a
// file that grows meanwhile is read up to one byte past the limit.
func readAll(path string, f *os.File, size int64) ([]byte, error) {
	buf := bytes.NewBuffer(make([]byte, 0, size+512))
	if _, err := buf.ReadFrom(io.LimitReader(f, maxFileSize+1)); err != nil {
		return nil, &FileError{Path: path, Err: unwrapPath(err)}
	}
	if int64(buf.Len()) > maxFileSize {
		return nil, &FileError{Path: path, Err: tooLarge("the file has more than", maxFileSize)}
	}
	return buf.Bytes(), nil
}

// loadRules reads a rule file to change it: its rules are sorted out at
// once, for the address table, and the file's contents dropped; the index
// that checks search is built only if a check asks for it.
func loadRules(path string) (*BlockList, error) {
	f, size, err := openRuleFile(path)
	if err != nil {
		return nil, &FileError{Path: path, Err: err}
	}
	defer f.Close()
	data, err := readAll(path, f, size)
	if err != nil {
		return nil, err
	}
	rules := make(ruleList, 0, bytes.Count(data, []byte{'"'})/2)
	if err := atPosition(data, scanElements(data, 0, len(data), true, true, &rules)); err != nil {
		var fe *FileError
		if errors.As(err, &fe) {
			fe.Path = path
		}
		return nil, err
	}
	b := New()
	b.setListed(rules)
	b.full = true
	return b, nil
}

// unwrapPath drops the *PathError around err: FileError names the file.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Parse reads the contents of a rule file (see LoadFile). Errors are
// *FileError without a path. The BlockList keeps data, which must not
// change afterwards.
func Parse(data []byte) (*BlockList, error) {
	b := New()
	if err := scanSpans(data, &b.pending); err != nil {
		return nil, err
	}
	// The rules themselves are read again, from data, when something
	// other than a check needs them.
	b.listed = data
	b.indexLocked()
	return b, nil
}

// ruleSink receives the rules of a rule file, in file order, each with
// the length of its JSON string, quotes included.
type ruleSink interface{ rule(c crule, n int) }

// rule records what a rule blocks.
func (s *spans) rule(c crule, _ int) { s.add(c) }

// ruleList collects rules.
type ruleList []crule

func (l *ruleList) rule(c crule, _ int) { *l = append(*l, c) }

// unlist sorts the rules of a rule file out into the address table's
// inputs, subnets and ranges; b.mu is held (or b is not shared yet).
func (b *BlockList) unlist() {
	data := b.listed
	if data == nil {
		return
	}
	b.listed = nil
	rules := make(ruleList, 0, bytes.Count(data, []byte{'"'})/2)
	scanElements(data, 0, len(data), true, true, &rules) //nolint:errcheck // read once already
	b.setListed(rules)
}

// countKinds counts the address, subnet and range rules of rules.
func countKinds(rules []crule) (addresses, subnets, ranges int) {
	for i := range rules {
		switch rules[i].kind {
		case AddressRule:
			addresses++
		case SubnetRule:
			subnets++
		case RangeRule:
			ranges++
		}
	}
	return addresses, subnets, ranges
}

// setListed sorts the rules of a rule file, in its order, out into the
// address table's inputs, subnets and ranges; b.mu is held (or b is not
// shared yet).
func (b *BlockList) setListed(rules ruleList) {
	na, ns, nr := countKinds(rules)
	b.vals, b.order = make([]ip, 0, na), make([]int32, 0, na)
	b.subnets, b.ranges = make([]crule, 0, ns), make([]crule, 0, nr)
	// Subnets and ranges are listed newest first, and kept oldest first.
	for i := len(rules) - 1; i >= 0; i-- {
		switch c := rules[i]; c.kind {
		case SubnetRule:
			b.subnets = append(b.subnets, c)
		case RangeRule:
			b.ranges = append(b.ranges, c)
		}
	}
	for i := range rules {
		if rules[i].kind == AddressRule {
			b.order = append(b.order, int32(len(b.vals)))
			b.vals = append(b.vals, rules[i].start())
		}
	}
	b.naddr = na
	b.listedDups = na > 1
}

// scanSpans reads a rule file into the intervals its rules block. It reads
// the JSON itself, without a decoder, because `nodenet block check` loads
// 100,000 rules on every run; a large file is read in two halves at once.
func scanSpans(data []byte, sp *spans) error {
	// Every rule is a string between two quotes, and adds at most one
	// interval per family: room for all of them. (Room that is never
	// written to costs no memory.)
	n := bytes.Count(data, []byte{'"'}) / 2
	sp.v4, sp.v6 = make([]uint64, 0, n), make([]span6, 0, n)
	if len(data) >= parallelScanMin && runtime.GOMAXPROCS(0) > 1 {
		if scanHalves(data, n, sp) {
			return nil
		}
		// A problem in either half: read again from the start, which
		// reports the first problem in the file.
		sp.reset()
	}
	return atPosition(data, scanElements(data, 0, len(data), true, true, sp))
}

// offsetError is a problem at an offset in a rule file. scanElements
// returns it and leaves finding the line and column to the one caller
// that reports it: a half of a file read in halves may not read the other
// half, which another goroutine may be filling.
type offsetError struct {
	off int
	err error
}

func (e *offsetError) Error() string { return fmt.Sprintf("offset %d: %v", e.off, e.err) }

// atPosition turns an offsetError into a FileError, with the line and the
// column of its offset in data.
func atPosition(data []byte, err error) error {
	if oe, ok := err.(*offsetError); ok {
		line, col := position(data, oe.off)
		return &FileError{Line: line, Col: col, Err: oe.err}
	}
	return err
}

// parallelScanMin is the size from which a rule file is read in halves.
const parallelScanMin = 1 << 20

// loadHalves reads and parses a large rule file in two halves at once: a
// goroutine reads the second half of the file, finds where its rules
// start and parses them, while the first half is read and parsed. It
// returns the indexed list; or, on a problem, nil and the file's contents
// when they were read whole (to be parsed again, which reports the first
// problem), else nil and nil.
func loadHalves(f *os.File, size int) (*BlockList, []byte) {
	data := make([]byte, size)
	mid := size / 2
	// A rule string takes more than 16 bytes: room enough.
	n := size / 16
	second := spans{v4: make([]uint64, 0, n), v6: make([]span6, 0, n)}
	type half struct {
		split int // where the second half's rules start, -1 if nowhere
		err   error
	}
	read := make(chan half, 1)
	done := make(chan error, 1)
	go func() {
		h := half{split: -1}
		if _, h.err = f.ReadAt(data[mid:], int64(mid)); h.err == nil {
			if j := bytes.Index(data[mid:], []byte(",\n")); j >= 0 {
				h.split = mid + j + 2
			}
		}
		read <- h
		if h.err != nil || h.split < 0 {
			done <- nil
			return
		}
		done <- scanElements(data, h.split, size, false, true, &second)
	}()
	_, err := f.ReadAt(data[:mid], 0)
	h := <-read
	switch {
	case err != nil || h.err != nil:
		<-done
		return nil, nil // the file changed size: read it again
	case h.split < 0:
		<-done
		return nil, data
	}
	b := New()
	sp := &b.pending
	sp.v4, sp.v6 = make([]uint64, 0, n), make([]span6, 0, n)
	err = scanElements(data, 0, h.split, true, false, sp)
	if err2 := <-done; err != nil || err2 != nil {
		return nil, data
	}
	sp.v4 = append(sp.v4, second.v4...)
	sp.v6 = append(sp.v6, second.v6...)
	// The second half's slices, as large as the first's, are the sort's
	// scratch space.
	sp.tmp4, sp.tmp6 = second.v4[:0], second.v6[:0]
	b.listed = data
	b.indexLocked()
	return b, nil
}

// scanHalves reads data in two halves, concurrently, split after a
// ",\n": the newline cannot be in a string (JSON strings hold no raw
// control characters), so neither can the comma, which then separates
// two elements of the array. It reports false when there is no such place,
// or either half has a problem.
func scanHalves(data []byte, n int, sp *spans) bool {
	mid := len(data) / 2
	j := bytes.Index(data[mid:], []byte(",\n"))
	if j < 0 {
		return false
	}
	split := mid + j + 2
	second := spans{v4: make([]uint64, 0, n), v6: make([]span6, 0, n)}
	done := make(chan error, 1)
	go func() { done <- scanElements(data, split, len(data), false, true, &second) }()
	err := scanElements(data, 0, split, true, false, sp)
	if err2 := <-done; err != nil || err2 != nil {
		return false
	}
	sp.v4 = append(sp.v4, second.v4...)
	sp.v6 = append(sp.v6, second.v6...)
	// The second half's slices, as large as the first's, are the sort's
	// scratch space.
	sp.tmp4, sp.tmp6 = second.v4[:0], second.v6[:0]
	return true
}

// scanElements reads the array elements in data[i:end] and hands their
// rules to sink. open says data[i:] starts the file (and so the array);
// close says data[:end] ends it. A part that does not end the file ends
// just after a comma.
func scanElements(data []byte, i, end int, open, close bool, sink ruleSink) error {
	s := data[:end] // every rule is read in place, without a copy
	fail := func(off int, err error) error { return &offsetError{off, err} }
	if open {
		i = skipSpace(s, i)
		if i == len(s) && close {
			return nil // an empty file: no rules
		}
		if i == len(s) || s[i] != '[' {
			return fail(i, errors.New("want a JSON array of rule strings"))
		}
		i = skipSpace(s, i+1)
		if i < len(s) && s[i] == ']' {
			if !close {
				return fail(i, errors.New("an empty array, then more"))
			}
			return atEnd(data, skipSpace(s, i+1), fail)
		}
	}
	for {
		i = skipSpace(s, scanFast(s, i, sink))
		if i == len(s) {
			if !close {
				return nil // the other part goes on
			}
			return fail(i, errors.New("unexpected end of JSON: want a rule string"))
		}
		if s[i] != '"' {
			return fail(i, fmt.Errorf("want a rule string, found %s", what(s, i)))
		}
		c, next, ok := quickRule(s, i+1)
		if !ok {
			var str []byte
			var err error
			if str, next, err = scanString(s, i); err != nil {
				return fail(next, err)
			}
			if c, err = parseRuleString(str); err != nil {
				return fail(i, err)
			}
		}
		sink.rule(c, next-i)
		i = skipSpace(s, next)
		if i == len(s) {
			return fail(i, errors.New("unexpected end of JSON: want ',' or ']'"))
		}
		if s[i] == ']' {
			if !close {
				return fail(i, errors.New("the array ends early"))
			}
			return atEnd(data, skipSpace(s, i+1), fail)
		}
		if s[i] != ',' {
			return fail(i, fmt.Errorf("want ',' or ']', found %s", what(s, i)))
		}
		i++
	}
}

// atEnd checks that nothing but space follows the array.
func atEnd(data []byte, i int, fail func(int, error) error) error {
	if i != len(data) {
		return fail(i, fmt.Errorf("want the end of the file after the array, found %s", what(data, i)))
	}
	return nil
}

// quickRule reads a rule string exactly as Node writes it, from s[i]
// (after the opening quote) to the closing quote, in one pass: the kind and
// family, then the addresses and prefix, each up to the byte that must end
// it. It returns the offset after the closing quote. Anything else (an
// escape, a zone, other spacing, an invalid address) is left to the
// general reader, which also says what is wrong.
func quickRule(s []byte, i int) (c crule, next int, ok bool) {
	// The kind and the family, eight bytes at a time: "Address: IPv4 ",
	// "Subnet: IPv6 ", "Range: IPv4 ".
	if len(s)-i < 16 {
		return c, 0, false
	}
	var kind RuleKind
	w := binary.LittleEndian.Uint64(s[i:])
	switch {
	case w == wordAddress && binary.LittleEndian.Uint32(s[i+8:]) == wordSpaceIPv:
		kind, i = AddressRule, i+12
	case w == wordSubnet && s[i+8] == 'I' && s[i+9] == 'P' && s[i+10] == 'v':
		kind, i = SubnetRule, i+11
	case w == wordRange && s[i+8] == 'P' && s[i+9] == 'v':
		kind, i = RangeRule, i+10
	default:
		return c, 0, false
	}
	if s[i+1] != ' ' {
		return c, 0, false
	}
	var v4 bool
	switch s[i] {
	case '4':
		v4 = true
	case '6':
	default:
		return c, 0, false
	}
	i += 2
	start, i, ok := quickAddress(s, i, v4)
	if !ok {
		return c, 0, false
	}
	var end ip
	var prefix uint8
	switch kind {
	case RangeRule:
		if i >= len(s) || s[i] != '-' {
			return c, 0, false
		}
		if end, i, ok = quickAddress(s, i+1, v4); !ok || start.cmp(end) > 0 {
			return c, 0, false
		}
	case SubnetRule:
		if i >= len(s) || s[i] != '/' {
			return c, 0, false
		}
		i++
		p, digits := 0, 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' && digits < 3 {
			p = p*10 + int(s[i]-'0')
			i++
			digits++
		}
		if digits == 0 || p > maxPrefix(v4) || digits > 1 && s[i-digits] == '0' {
			return c, 0, false
		}
		prefix = uint8(p)
	}
	if i >= len(s) || s[i] != '"' {
		return c, 0, false
	}
	return newRule(kind, start, end, prefix), i + 1, true
}

// The words quickRule compares rule strings with.
var (
	wordAddress  = binary.LittleEndian.Uint64([]byte("Address:"))
	wordSubnet   = binary.LittleEndian.Uint64([]byte("Subnet: "))
	wordRange    = binary.LittleEndian.Uint64([]byte("Range: I"))
	wordSpaceIPv = binary.LittleEndian.Uint32([]byte(" IPv"))
)

// quickAddress reads the address at s[i:], up to the first byte that
// cannot be part of one, and returns the offset of that byte.
func quickAddress(s []byte, i int, v4 bool) (ip, int, bool) {
	if v4 {
		a, j, ok := scanIPv4(s, i)
		// Another digit or dot would make it something else.
		if ok && j < len(s) && (s[j]-'0' <= 9 || s[j] == '.') {
			ok = false
		}
		return ipFrom4(a), j, ok
	}
	hi, lo, j, ok := scanIPv6(s, i)
	return ip{hi: hi, lo: lo}, j, ok
}

// v6Byte tells the bytes an IPv6 address is written with: hex digits, ':'
// and '.'.
var v6Byte = func() (t [256]bool) {
	for c := range t {
		t[c] = hexValue[c] != 0xff || c == ':' || c == '.'
	}
	return t
}()

// plainString reports whether s, the bytes between two quotes, is a whole
// JSON string without escapes: no backslash, and no byte below 0x20, which
// a JSON string may not hold.
func plainString(s []byte) bool {
	// Eight bytes at a time: a byte below 0x20, or a backslash, sets the
	// high bit of its lane in the "has less than" tests (none of the bytes
	// of a rule string is 0x80 or above, and any that is falls back).
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for len(s) >= 8 {
		w := binary.LittleEndian.Uint64(s)
		bs := w ^ (ones * '\\')
		if ((w-ones*0x20)|(bs-ones))&^w&^bs&highs != 0 || w&highs != 0 {
			break
		}
		s = s[8:]
	}
	for _, c := range s {
		if c < 0x20 || c == '\\' {
			return false
		}
	}
	return true
}

func skipSpace(s []byte, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// what describes the byte at s[i] for an error message.
func what(s []byte, i int) string {
	if i >= len(s) {
		return "the end"
	}
	return strconv.QuoteRuneToASCII(rune(s[i]))
}

// scanString reads the JSON string starting at s[i] == '"' and returns its
// value and the offset after it (or of the problem). A string without
// escapes is returned in place.
func scanString(s []byte, i int) ([]byte, int, error) {
	if j := bytes.IndexByte(s[i+1:], '"'); j >= 0 {
		str := s[i+1 : i+1+j]
		if plainString(str) {
			return str, i + 2 + j, nil
		}
	}
	escaped := false
	for j := i + 1; j < len(s); j++ {
		switch c := s[j]; {
		case c == '"':
			if !escaped {
				return s[i+1 : j], j + 1, nil
			}
			var v string
			if err := json.Unmarshal(s[i:j+1], &v); err != nil {
				return nil, i, fmt.Errorf("invalid JSON string: %v", err)
			}
			return []byte(v), j + 1, nil
		case c == '\\':
			escaped = true
			j++ // the escaped byte cannot end the string
		case c < 0x20:
			return nil, j, errors.New("invalid JSON string: a control character")
		}
	}
	return nil, len(s), errors.New("unexpected end of JSON: an unterminated string")
}

// Format returns the rule file for b's rules: a JSON array with one rule
// string per line.
func Format(b *BlockList) []byte {
	// Room for most files at once: an IPv4 address rule takes 26 to 34
	// bytes, an IPv6 one up to 57.
	out := make([]byte, 0, 8+b.Size()*40)
	b.formatTo(func(chunk []byte) bool {
		out = append(out, chunk...)
		return true
	})
	return out
}

// formatChunk is how much of a rule file formatTo hands over at a time.
const formatChunk = 64 << 10

// writeChunk is how much of a text formatted whole formatTo hands over
// at a time.
const writeChunk = 1 << 20

// parallelFormatMin is the number of rules from which formatTo formats
// the second half of the file at the same time as the first.
const parallelFormatMin = 16384

// formatTo formats the rule file for b's rules (see Format) in pieces of
// about formatChunk bytes, handing each to emit, which may keep it only
// for the call and returns false to stop. It returns the size of the
// whole file, counted on when emit stops. The first half of a large file
// is formatted in one buffer, a piece at a time, while a goroutine formats
// the second half whole; subnets and ranges that AddBatch formatted
// already (b.pre) are taken as they are.
func (b *BlockList) formatTo(emit func(chunk []byte) bool) int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	order := b.addressOrder() // unlists
	n := len(order) + len(b.subnets) + len(b.ranges)
	if n == 0 {
		emit([]byte("[]\n"))
		return 3
	}
	var size int64
	more := true
	first := true
	put := func(p []byte) {
		if first {
			// The first rule comes after "[\n  " where the others
			// come after ",\n  ".
			first = false
			size++
			more = emit([]byte("["))
			p = p[1:]
		}
		size += int64(len(p))
		if more {
			more = emit(p)
		}
	}
	putAll := func(rest []byte) {
		for len(rest) > 0 {
			k := min(len(rest), writeChunk)
			put(rest[:k])
			rest = rest[k:]
		}
	}
	// The rules formatted here: all of them, or the addresses when the
	// subnets and ranges were formatted already.
	end := n
	if b.pre != nil {
		end = len(order)
	}
	half := end
	var second chan []byte
	if end >= parallelFormatMin && runtime.GOMAXPROCS(0) > 1 {
		half = end / 2
		second = make(chan []byte, 1)
		go func() {
			out := make([]byte, 0, (end-half)*maxRuleText)
			if pf := b.pre; pf != nil {
				<-pf.done // its spare memory is free once it is done
				if cap(pf.spare) >= (end-half)*maxAddressText {
					out = pf.spare[:0]
				}
			}
			second <- b.appendRules(out, order, half, end)
		}()
	}
	buf := make([]byte, 0, formatChunk+256)
	for i := 0; i < half; {
		j := min(i+formatChunk/64, half)
		buf = b.appendRules(buf[:0], order, i, j)
		put(buf)
		i = j
	}
	if second != nil {
		putAll(<-second)
	}
	if pf := b.pre; pf != nil {
		<-pf.done
		putAll(pf.tail)
	}
	put([]byte("\n]\n"))
	return size
}

// appendRules appends the rules listed from i to j (not included) as a
// rule file lists them: each after ",\n  ", quoted (the first one's comma
// is formatTo's to replace). order is the address rules' listing order;
// b.mu is held.
func (b *BlockList) appendRules(dst []byte, order []int32, i, j int) []byte {
	na, ns := len(order), len(b.subnets)
	for k := i; k < j; k++ {
		var c crule
		switch {
		case k < na:
			c = newRule(AddressRule, b.vals[order[k]], ip{}, 0)
		case k < na+ns:
			c = b.subnets[ns-1-(k-na)] // newest first
		default:
			c = b.ranges[len(b.ranges)-1-(k-na-ns)]
		}
		// A rule string holds letters, digits, spaces and ":./-": nothing
		// JSON escapes.
		dst = append(c.appendString(append(dst, ",\n  \""...)), '"')
	}
	return dst
}

// FormatRules formats rule strings as a rule file does.
func FormatRules(rules []string) []byte {
	if len(rules) == 0 {
		return []byte("[]\n")
	}
	var buf bytes.Buffer
	buf.WriteString("[\n")
	for i, r := range rules {
		q, _ := json.Marshal(r)
		buf.WriteString("  ")
		buf.Write(q)
		if i < len(rules)-1 {
			buf.WriteByte(',')
		}
		buf.WriteByte('\n')
	}
	buf.WriteString("]\n")
	return buf.Bytes()
}

// writebackChunk is how much of a rule file is written before the disk is
// asked to start writing it.
const writebackChunk = 512 << 10

// WriteFile writes b's rules to path atomically: to a new file in the same
// folder, synced, then renamed over path, and the folder synced, so that a
// reader sees the old rules or the new ones and a crash loses neither. A
// file already at path keeps its permissions. A symbolic link at path is
// followed: the file it points to is replaced, and the link stays. Rules
// that would make a file larger than MaxFileSize are refused
// (ErrTooLarge), and so is a path that holds something other than a
// regular file (ErrNotRegular). Writers that may run at the same time
// should use Update, which also takes the lock (and removes temporary
// files of writers that died, which may be this one's while it writes).
func WriteFile(path string, b *BlockList) error {
	real, err := realPath(path)
	if err != nil {
		return &FileError{Path: path, Err: err}
	}
	return writeAtomic(path, real, b)
}

// writeAtomic writes b's rule file to real, which is path with its links
// followed; errors name path, as the user gave it.
func writeAtomic(path, real string, b *BlockList) error {
	return writeAtomicWith(path, real, func(f *os.File) error {
		// The file is written as it is formatted, a piece at a time;
		// rules that would make it too large stop the writing, and are
		// counted on to say by how much.
		var werr error
		var written int64
		wb := writeback{f: f}
		size := b.formatTo(func(chunk []byte) bool {
			if written += int64(len(chunk)); written > maxFileSize {
				return false
			}
			_, werr = f.Write(chunk)
			wb.written(written)
			return werr == nil
		})
		if size > maxFileSize {
			return tooLarge("the rules would take", size)
		}
		return werr
	})
}

// writeback asks the disk to start writing a file as it is written, a
// writebackChunk at a time (startWriteback): the Sync at the end then
// waits for less.
type writeback struct {
	f      *os.File
	queued int64 // the offset up to which writing was asked for
	from   int64 // where the part written starts
}

// written says that the part is written up to offset end.
func (wb *writeback) written(end int64) {
	if wb.queued < wb.from {
		wb.queued = wb.from
	}
	if end-wb.queued >= writebackChunk {
		startWriteback(wb.f, wb.queued, end-wb.queued)
		wb.queued = end
	}
}

// writeAtomicWith writes a rule file to real, which is path with its
// links followed, atomically (see WriteFile): write writes the contents
// to a new file, which is then synced and renamed over real. Errors name
// path, as the user gave it.
func writeAtomicWith(path, real string, write func(f *os.File) error) error {
	dir, base := filepath.Split(real)
	if dir == "" {
		dir = "."
	}
	perm := fs.FileMode(0o644) // then the umask
	old, statErr := os.Stat(real)
	if statErr == nil {
		if !old.Mode().IsRegular() {
			return &FileError{Path: path, Err: notRegular(old.Mode())}
		}
		perm = old.Mode().Perm()
	}
	var f *os.File
	var err error
	for range 100 {
		name := filepath.Join(dir, tempPrefix(base)+strconv.FormatUint(rand.Uint64(), 36))
		f, err = os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
		if !errors.Is(err, fs.ErrExist) {
			break
		}
	}
	if err != nil {
		return &FileError{Path: path, Err: unwrapPath(err)}
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if statErr == nil {
		// OpenFile's mode passed through the umask; the old file's did
		// not have to.
		if err := f.Chmod(perm); err != nil {
			return &FileError{Path: path, Err: unwrapPath(err)}
		}
	}
	if err := write(f); err != nil {
		var fe *FileError
		if errors.As(err, &fe) {
			return err // about another file
		}
		return &FileError{Path: path, Err: unwrapPath(err)}
	}
	if err := f.Sync(); err != nil {
		return &FileError{Path: path, Err: unwrapPath(err)}
	}
	if err := f.Close(); err != nil {
		return &FileError{Path: path, Err: unwrapPath(err)}
	}
	if err := os.Rename(tmp, real); err != nil {
		return &FileError{Path: path, Err: unwrapPath(err)}
	}
	ok = true
	if err := syncDir(dir); err != nil {
		return &FileError{Path: path, Err: unwrapPath(err)}
	}
	return nil
}

// Update changes the rule file at path under its lock: it takes the lock
// (an exclusive lock on path+".lock", which is left in place), reads the
// rules (a missing file is an empty list), calls change, and when change
// returns nil writes the rules back atomically (see WriteFile). When
// change fails, or the file cannot be read, the file is not written: it
// stays byte for byte as it was. Concurrent Updates, from any process, each
// see the rules the one before wrote, so none is lost.
//
// A symbolic link at path is followed first: the file it points to is
// locked, read and replaced, so that updates through the link and through
// the file share one lock. The lock file itself is never followed: a link
// or anything but a regular file there is refused. Holding the lock,
// Update removes the temporary files (".NAME.tmp" and a number) that
// writers killed before their rename left behind.
func Update(path string, change func(*BlockList) error) error {
	real, err := realPath(path)
	if err != nil {
		return &FileError{Path: path, Err: err}
	}
	unlock, err := lockFile(real + ".lock")
	if err != nil {
		return &FileError{Path: path + ".lock", Err: unwrapPath(err)}
	}
	defer unlock()
	removeStaleTemps(real)
	b, err := loadRules(real)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			var fe *FileError
			if errors.As(err, &fe) {
				fe.Path = path
			}
			return err
		}
		b = New()
	}
	if err := change(b); err != nil {
		return err
	}
	return writeAtomic(path, real, b)
}
