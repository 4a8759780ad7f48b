package blocklist

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
)

// Error is a BlockList failure with Node's code: ERR_INVALID_ADDRESS,
// ERR_INVALID_ARG_VALUE, ERR_INVALID_ARG_TYPE or ERR_OUT_OF_RANGE. Message
// is Node's err.message.
type Error struct {
	Code    string
	Message string
	Err     error
}

// Error returns the code and Node's message, as Node prints them. An error
// without a code (Node's SyntaxError from JSON.parse) is its message alone.
func (e *Error) Error() string {
	if e.Code == "" {
		return e.Message
	}
	return e.Code + ": " + e.Message
}

// Unwrap returns the underlying error, if any.
func (e *Error) Unwrap() error { return e.Err }

// Node's codes.
const (
	codeInvalidAddress  = "ERR_INVALID_ADDRESS"
	codeInvalidArgValue = "ERR_INVALID_ARG_VALUE"
	codeInvalidArgType  = "ERR_INVALID_ARG_TYPE"
	codeOutOfRange      = "ERR_OUT_OF_RANGE"
)

// errInvalidAddress is what new SocketAddress() throws for an address that
// libuv cannot read. It is one value, so that Check, given input that is
// not an address, does not allocate.
func errInvalidAddress() error { return invalidAddress }

var invalidAddress = &Error{Code: codeInvalidAddress, Message: "Invalid socket address"}

// errFamily is what new SocketAddress() throws for a family other than
// 'ipv4' or 'ipv6'.
func errFamily(family string) error {
	return &Error{Code: codeInvalidArgValue, Message: "The property 'options.family' is invalid. Received " + inspectArg(family)}
}

// errRangeOrder is what addRange throws when start comes after end: Node
// shows the start as a SocketAddress, with util.inspect, which puts the
// object on one line when it fits in 80 columns (an address of up to 17
// characters) and otherwise one property per line.
func errRangeOrder(start ip) error {
	a := start.String()
	sa := "SocketAddress { address: '" + a + "', port: 0, family: '" + start.family() + "', flowlabel: 0 }"
	if len(a) > 17 {
		sa = "SocketAddress {\n  address: '" + a + "',\n  port: 0,\n  family: '" + start.family() + "',\n  flowlabel: 0\n}"
	}
	return &Error{Code: codeInvalidArgValue, Message: "The argument 'start' must come before end. Received " + sa}
}

// errPrefix is what validateInt32 throws for a prefix out of range.
func errPrefix(v4 bool, prefix int64) error {
	return errPrefixReceived(v4, jsInteger(strconv.FormatInt(prefix, 10)))
}

func errPrefixReceived(v4 bool, received string) error {
	max := "128"
	if v4 {
		max = "32"
	}
	return &Error{Code: codeOutOfRange, Message: `The value of "prefix" is out of range. It must be >= 0 && <= ` + max + ". Received " + received}
}

// errPrefixNotInteger is the same error for a prefix that is not a whole
// number. Node receives a number; the command line has text, shown as Node
// shows a string.
func errPrefixNotInteger(text string) error {
	return &Error{Code: codeOutOfRange, Message: `The value of "prefix" is out of range. It must be an integer. Received ` + inspectString(text)}
}

// errRule is the error for a rule string that is not "Kind: Family body".
func errRule(s string) error {
	return &Error{Code: codeInvalidArgValue, Message: "The argument 'rule' is invalid. Received " + inspectArg(s)}
}

// errPrefixMissing is what addSubnet throws without a prefix.
func errPrefixMissing() error {
	return &Error{Code: codeInvalidArgType, Message: `The "prefix" argument must be of type number. Received undefined`}
}

// errDataType is what fromJSON throws for data that is not a string or an
// array of strings; received describes the value as Node does.
func errDataType(received string) error {
	return &Error{Code: codeInvalidArgType, Message: `The "data" argument must be of type string or string[]. Received ` + received}
}

// jsInteger formats a decimal integer as Node's ERR_OUT_OF_RANGE does:
// beyond 2**32 in magnitude with "_" between groups of three digits.
func jsInteger(dec string) string {
	digits := strings.TrimPrefix(dec, "-")
	if len(digits) < 10 || len(digits) == 10 && digits <= "4294967296" {
		return dec
	}
	start := len(dec) - len(digits)
	var b strings.Builder
	b.WriteString(dec[:start])
	first := len(digits) % 3
	if first == 0 {
		first = 3
	}
	b.WriteString(digits[:first])
	for i := first; i < len(digits); i += 3 {
		b.WriteByte('_')
		b.WriteString(digits[i : i+3])
	}
	return b.String()
}

// inspectArg is ERR_INVALID_ARG_VALUE's rendering of a string value:
// util.inspect, cut to 128 characters.
func inspectArg(s string) string {
	r := []rune(inspectString(s))
	if n := utf16Len(r); n > 128 {
		return string(utf16Prefix(r, 128)) + "..."
	}
	return string(r)
}

// inspectString renders a string as Node's util.inspect does: in single
// quotes, or double quotes or backticks when that avoids escaping a quote,
// with control characters, quotes and backslashes escaped. A long string
// with newlines is shown as lines joined by " +".
func inspectString(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	quote := byte('\'')
	if strings.Contains(s, "'") {
		if !strings.Contains(s, `"`) {
			quote = '"'
		} else if !strings.Contains(s, "`") && !strings.Contains(s, "${") {
			quote = '`'
		}
	}
	if n := utf16Len([]rune(s)); n > 16 && n > 128-4 && strings.Contains(s[:len(s)-1], "\n") {
		var parts []string
		for rest := s; rest != ""; {
			i := strings.IndexByte(rest, '\n')
			if i < 0 || i == len(rest)-1 {
				parts = append(parts, rest)
				break
			}
			parts = append(parts, rest[:i+1])
			rest = rest[i+1:]
		}
		for i, p := range parts {
			parts[i] = quoteJS(p, quote)
		}
		return strings.Join(parts, " +\n  ")
	}
	return quoteJS(s, quote)
}

func quoteJS(s string, quote byte) string {
	var b strings.Builder
	b.WriteByte(quote)
	for _, r := range s {
		switch {
		case r == '\'' && quote == '\'':
			b.WriteString(`\'`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\f':
			b.WriteString(`\f`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || 0x7f <= r && r < 0xa0:
			fmt.Fprintf(&b, `\x%02X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(quote)
	return b.String()
}

func utf16Len(r []rune) int {
	n := 0
	for _, c := range r {
		n += utf16.RuneLen(c)
	}
	return n
}

// utf16Prefix is the longest prefix of r that is at most n UTF-16 units
// (JavaScript's String.prototype.slice counts those). A surrogate pair cut
// in half is dropped rather than printed as half a character.
func utf16Prefix(r []rune, n int) []rune {
	for i, c := range r {
		n -= utf16.RuneLen(c)
		if n < 0 {
			return r[:i]
		}
	}
	return r
}

// FileError is a rule file that cannot be read: its path, the position of
// the problem (line and column from 1, in bytes; 0 when it is not about a
// place in the file), and what is wrong, which may be an *Error with
// Node's code for a rule that is not valid.
type FileError struct {
	Path string
	Line int
	Col  int
	Err  error
}

// Error returns "path:line:col: problem" (without the parts that are
// unknown).
func (e *FileError) Error() string {
	where := e.Path
	if e.Line > 0 {
		if where != "" {
			where += ":"
		}
		where += fmt.Sprintf("%d:%d", e.Line, e.Col)
	}
	if where == "" {
		return e.Err.Error()
	}
	return where + ": " + e.Err.Error()
}

// Unwrap returns the problem.
func (e *FileError) Unwrap() error { return e.Err }

// position converts a byte offset in data to a line and column, both
// counted from 1.
func position(data []byte, off int) (line, col int) {
	off = min(off, len(data))
	line = 1
	lineStart := 0
	for i := 0; i < off; i++ {
		if data[i] == '\n' {
			line++
			lineStart = i + 1
		}
	}
	return line, off - lineStart + 1
}
