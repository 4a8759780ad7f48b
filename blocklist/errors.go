package blocklist

import (
	"fmt"
	"math"
	"strconv"

	"github.com/nodenet/nodenet/internal/nodeerr"
)

// Error is a BlockList failure with Node's code (ERR_INVALID_ADDRESS,
// ERR_INVALID_ARG_VALUE, ERR_INVALID_ARG_TYPE or ERR_OUT_OF_RANGE) and
// Node's err.message. Error() is "CODE: message", as Node prints it, or
// the message alone for an error without a code (Node's SyntaxError from
// JSON.parse). It is netcore.Error, nodenet's one error type; blocklist
// sets only Code, Message and Err.
type Error = nodeerr.Error

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
	return nodeerr.InvalidArgValue("options.family", family, "")
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
	return errPrefixReceived(v4, float64(prefix))
}

// errPrefixReceived is validateInt32's error for the number n that Node
// received as the prefix: "an integer" for ±Infinity (a decimal beyond
// float64's range), otherwise the family's range.
func errPrefixReceived(v4 bool, n float64) error {
	if math.IsInf(n, 0) {
		return nodeerr.OutOfRange("prefix", "an integer", n)
	}
	max := "128"
	if v4 {
		max = "32"
	}
	return nodeerr.OutOfRange("prefix", ">= 0 && <= "+max, n)
}

// errPrefixNotInteger is the same error for a prefix that is not a whole
// number. Node receives a number; the command line has text, shown as Node
// shows a string.
func errPrefixNotInteger(text string) error {
	return nodeerr.OutOfRange("prefix", "an integer", text)
}

// errRule is the error for a rule string that is not "Kind: Family body".
func errRule(s string) error {
	return nodeerr.InvalidArgValue("rule", s, "")
}

// errPrefixMissing is what addSubnet throws without a prefix.
func errPrefixMissing() error {
	return nodeerr.InvalidArgType("prefix", []string{"number"}, nodeerr.Undefined{})
}

// errDataType is what fromJSON throws for data, a value decoded from JSON
// (with json.Number for numbers), that is not a string or an array of
// strings.
func errDataType(data any) error {
	return nodeerr.InvalidArgType("data", []string{"string", "string[]"}, data)
}

// jsInteger is the JavaScript number that a decimal integer dec is read as
// (Number(dec)): rounded beyond 2**53, ±Infinity beyond float64's range.
func jsInteger(dec string) float64 {
	n, _ := strconv.ParseFloat(dec, 64)
	return n
}

// inspectString renders a string as Node's util.inspect does (see
// nodeerr.Inspect).
func inspectString(s string) string { return nodeerr.Inspect(s) }

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
