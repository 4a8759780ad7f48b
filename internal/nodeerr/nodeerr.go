// Package nodeerr is nodenet's one home for Node's errors: the error type
// that carries Node's code, and the wording of Node's argument errors
// (ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE, ERR_OUT_OF_RANGE,
// ERR_SOCKET_BAD_PORT), with the values they received described exactly as
// Node v26 describes them: determineSpecificType and util.inspect
// (lib/internal/errors.js, lib/internal/util/inspect.js).
//
// netcore and blocklist both name its Error type (netcore.Error and
// blocklist.Error are aliases of it), so that one errors.As finds a Node
// error whichever package raised it.
//
// Values are given as Go values standing for the JavaScript value Node
// would have received:
//
//	nil               null
//	Undefined{}       undefined
//	bool              a boolean
//	string            a string (UTF-8; each invalid byte reads as U+FFFD)
//	float64, int,     a number (an int64 beyond 2**53 is rounded, as
//	int64,              Number() rounds it)
//	json.Number
//	[]any             an array, as JSON.parse makes it
//	map[string]any    an object, as JSON.parse makes it
//
// Strings are measured and cut in UTF-16 code units, as JavaScript's
// length and slice count them; a cut that splits a surrogate pair leaves a
// lone surrogate, which Node prints as U+FFFD on a UTF-8 stream, and so do
// these functions.
package nodeerr

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf16"
)

// Error is a failure in Node's vocabulary: Code is Node's err.code
// ("ECONNREFUSED", "ERR_SOCKET_BAD_PORT"), Syscall its err.syscall
// ("connect", "listen", "getaddrinfo"), and Message its err.message, worded
// as Node words it. Err is the underlying error, if any.
type Error struct {
	Code     string
	Syscall  string
	Address  string // an IP address or a socket path
	Port     int    // 0 when there is none
	Hostname string // for getaddrinfo errors
	Message  string
	Err      error

	// Usage marks an error in what the caller asked for rather than in the
	// network (a socket path too long, say): the command line exits 2.
	Usage bool

	// ShowCode prints Code before Message for a code that is neither
	// Node's own (ERR_*) nor a system error's: OpenSSL's verification
	// results, whose message alone ("self-signed certificate") hides what
	// to search for.
	ShowCode bool
}

// Error returns Node's message. Node's own errors (ERR_*) are prefixed with
// their code, as Node prints them (RangeError [ERR_SOCKET_BAD_PORT]: ...);
// system errors already start with the syscall and the code, and an error
// without a code (JSON.parse's SyntaxError) is its message alone.
func (e *Error) Error() string {
	if strings.HasPrefix(e.Code, "ERR_") || e.ShowCode {
		return e.Code + ": " + e.Message
	}
	return e.Message
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Undefined is JavaScript's undefined, for a value that was not given.
type Undefined struct{}

// InvalidArgType is Node's ERR_INVALID_ARG_TYPE: `The "name" argument must
// be of type string or string[]. Received type number (5)`. expected are
// Node's expected names: JavaScript types ("string", "number", "Object"),
// classes ("Array", "Buffer") and anything else ("string[]").
func InvalidArgType(name string, expected []string, actual any) *Error {
	var b strings.Builder
	b.WriteString("The ")
	if strings.HasSuffix(name, " argument") {
		b.WriteString(name + " ")
	} else {
		b.WriteString(`"` + name + `" ` + argOrProperty(name) + " ")
	}
	b.WriteString("must be ")
	var types, instances, other []string
	for _, v := range expected {
		switch {
		case isJSType(v):
			types = append(types, strings.ToLower(v))
		case isClassName(v):
			instances = append(instances, v)
		default:
			other = append(other, v)
		}
	}
	// "object" among classes is written as the class Object.
	if len(instances) > 0 {
		for i, t := range types {
			if t == "object" {
				types = append(types[:i:i], types[i+1:]...)
				instances = append(instances, "Object")
				break
			}
		}
	}
	if len(types) > 0 {
		if len(types) > 1 {
			b.WriteString("one of type ")
		} else {
			b.WriteString("of type ")
		}
		b.WriteString(formatList(types, "or"))
		if len(instances) > 0 || len(other) > 0 {
			b.WriteString(" or ")
		}
	}
	if len(instances) > 0 {
		b.WriteString("an instance of " + formatList(instances, "or"))
		if len(other) > 0 {
			b.WriteString(" or ")
		}
	}
	if len(other) > 1 {
		b.WriteString("one of " + formatList(other, "or"))
	} else if len(other) == 1 {
		if strings.ToLower(other[0]) != other[0] {
			b.WriteString("an ")
		}
		b.WriteString(other[0])
	}
	b.WriteString(". Received " + specificType(actual))
	return &Error{Code: "ERR_INVALID_ARG_TYPE", Message: b.String()}
}

// InvalidArgValue is Node's ERR_INVALID_ARG_VALUE: "The argument 'name'
// reason. Received value", the value as util.inspect shows it, cut to 128
// UTF-16 units and "...". reason "" is Node's default, "is invalid".
func InvalidArgValue(name string, value any, reason string) *Error {
	if reason == "" {
		reason = "is invalid"
	}
	u := inspect(value)
	if len(u) > 128 {
		u = append(u[:128:128], '.', '.', '.')
	}
	return &Error{
		Code:    "ERR_INVALID_ARG_VALUE",
		Message: "The " + argOrProperty(name) + " '" + name + "' " + reason + ". Received " + decode(u),
	}
}

// OutOfRange is Node's ERR_OUT_OF_RANGE: `The value of "name" is out of
// range. It must be rng. Received input`: an integer beyond 2**32 in
// magnitude with "_" between groups of digits, anything else as
// util.inspect shows it.
func OutOfRange(name, rng string, input any) *Error {
	var received string
	if f, ok := number(input); ok && f == math.Trunc(f) && !math.IsInf(f, 0) && math.Abs(f) > 1<<32 {
		received = addNumericalSeparator(numberString(f))
	} else {
		received = Inspect(input)
	}
	return &Error{
		Code:    "ERR_OUT_OF_RANGE",
		Message: `The value of "` + name + `" is out of range. It must be ` + rng + ". Received " + received,
	}
}

// SocketBadPort is Node's ERR_SOCKET_BAD_PORT for a port that may be 0:
// "name should be >= 0 and < 65536. Received type number (70000)." name
// is "Port" for net.connect and "options.port" for server.listen.
func SocketBadPort(name string, port any) *Error {
	return &Error{
		Code:    "ERR_SOCKET_BAD_PORT",
		Message: name + " should be >= 0 and < 65536. Received " + specificType(port) + ".",
	}
}

// specificType describes v as Node's determineSpecificType does for the
// "Received" part of ERR_INVALID_ARG_TYPE and ERR_SOCKET_BAD_PORT: "null",
// "undefined", "type number (5)", "type string ('abc')" (cut to 25 units
// and "..." beyond 28; JSON.stringify'd when it holds a single quote),
// "an instance of Array".
func specificType(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case Undefined:
		return "undefined"
	case bool:
		return "type boolean (" + strconv.FormatBool(x) + ")"
	case string:
		u := encode(x)
		if len(u) > 28 {
			u = append(u[:25:25], '.', '.', '.')
		}
		for _, c := range u {
			if c == '\'' {
				return "type string (" + jsonStringify(u) + ")"
			}
		}
		return "type string ('" + decode(u) + "')"
	case []any:
		return "an instance of Array"
	case map[string]any:
		// value.constructor?.name: an own "constructor" property (JSON.parse
		// makes one) hides Object.prototype's.
		c, own := x["constructor"]
		if !own {
			return "an instance of Object"
		}
		if m, ok := c.(map[string]any); ok {
			if name, ok := m["name"].(string); ok && name != "" {
				return "an instance of " + name
			}
		}
		// util.inspect(value, { depth: -1 }) of a plain object.
		return "[Object]"
	}
	if f, ok := number(v); ok {
		if f == 0 && math.Signbit(f) {
			return "type number (-0)"
		}
		return "type number (" + numberString(f) + ")"
	}
	panic(fmt.Sprintf("nodeerr: %T stands for no JavaScript value", v))
}

// Inspect is util.inspect(v) with Node's default options, for the
// primitive values: a string quoted and escaped as strEscape does, cut at
// 10,000 units with "... N more characters", and beyond 76 units shown
// one quoted line per line joined by " +\n  "; a number as JavaScript
// prints it ("-0" for minus zero); true, false, null and undefined.
func Inspect(v any) string {
	return decode(inspect(v))
}

func inspect(v any) []uint16 {
	switch x := v.(type) {
	case nil:
		return encode("null")
	case Undefined:
		return encode("undefined")
	case bool:
		return encode(strconv.FormatBool(x))
	case string:
		return inspectString(encode(x))
	}
	if f, ok := number(v); ok {
		if f == 0 && math.Signbit(f) {
			return encode("-0")
		}
		return encode(numberString(f))
	}
	panic(fmt.Sprintf("nodeerr: Inspect of a %T is not implemented", v))
}

// Node's util.inspect defaults (lib/internal/util/inspect.js):
// maxStringLength, breakLength and kMinLineLength. A string longer than
// both kMinLineLength and breakLength - 4 (the indentation of a top-level
// value is 0) is split into lines.
const (
	maxStringLength = 10000
	breakLength     = 80
	minLineLength   = 16
)

// inspectString is formatPrimitive for a string.
func inspectString(u []uint16) []uint16 {
	var trailer string
	if len(u) > maxStringLength {
		rest := len(u) - maxStringLength
		u = u[:maxStringLength]
		trailer = "... " + strconv.Itoa(rest) + " more character"
		if rest > 1 {
			trailer += "s"
		}
	}
	var out []uint16
	if len(u) > minLineLength && len(u) > breakLength-4 {
		// Split after each newline (/(?<=\n)/): no empty piece after a
		// final newline.
		start := 0
		for i := 0; i < len(u); i++ {
			if u[i] == '\n' && i+1 < len(u) {
				out = append(out, strEscape(u[start:i+1])...)
				out = append(out, ' ', '+', '\n', ' ', ' ')
				start = i + 1
			}
		}
		out = append(out, strEscape(u[start:])...)
	} else {
		out = strEscape(u)
	}
	return append(out, encode(trailer)...)
}

// strEscape quotes a string as util.inspect does: single quotes, or double
// quotes when it holds a single quote, or backquotes when it holds both
// (and neither a backquote nor "${"); control characters, C1 controls, the
// backslash, the quote in use and lone surrogates are escaped.
func strEscape(u []uint16) []uint16 {
	quote := uint16('\'')
	if has(u, '\'') {
		if !has(u, '"') {
			quote = '"'
		} else if !has(u, '`') && !hasDollarBrace(u) {
			quote = '`'
		}
	}
	out := make([]uint16, 0, len(u)+2)
	out = append(out, quote)
	for i := 0; i < len(u); i++ {
		c := u[i]
		switch {
		case c == '\'' && quote == '\'':
			out = append(out, '\\', '\'')
		case c == '\\':
			out = append(out, '\\', '\\')
		case c == '\b':
			out = append(out, '\\', 'b')
		case c == '\t':
			out = append(out, '\\', 't')
		case c == '\n':
			out = append(out, '\\', 'n')
		case c == '\f':
			out = append(out, '\\', 'f')
		case c == '\r':
			out = append(out, '\\', 'r')
		case c < 0x20 || (c >= 0x7f && c < 0xa0):
			const digits = "0123456789ABCDEF"
			out = append(out, '\\', 'x', uint16(digits[c>>4]), uint16(digits[c&15]))
		case utf16.IsSurrogate(rune(c)):
			var pair bool
			out, pair = appendSurrogate(out, u, i)
			if pair {
				i++
			}
		default:
			out = append(out, c)
		}
	}
	return append(out, quote)
}

// jsonStringify is JSON.stringify of a string: quotes, backslashes,
// control characters and lone surrogates are escaped, everything else is
// kept (DEL and C1 controls included).
func jsonStringify(u []uint16) string {
	var b []uint16
	b = append(b, '"')
	for i := 0; i < len(u); i++ {
		c := u[i]
		switch {
		case c == '"':
			b = append(b, '\\', '"')
		case c == '\\':
			b = append(b, '\\', '\\')
		case c == '\b':
			b = append(b, '\\', 'b')
		case c == '\f':
			b = append(b, '\\', 'f')
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c < 0x20:
			const digits = "0123456789abcdef"
			b = append(b, '\\', 'u', '0', '0', uint16(digits[c>>4]), uint16(digits[c&15]))
		case utf16.IsSurrogate(rune(c)):
			var pair bool
			b, pair = appendSurrogate(b, u, i)
			if pair {
				i++
			}
		default:
			b = append(b, c)
		}
	}
	return decode(append(b, '"'))
}

// number returns v as a JavaScript number, if it is one.
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case json.Number:
		// JSON.parse: a number beyond float64's range is ±Infinity,
		// which is what ParseFloat returns with its range error.
		f, err := strconv.ParseFloat(string(x), 64)
		return f, err == nil || math.IsInf(f, 0)
	}
	return 0, false
}

// numberString is JavaScript's String(f) (Number::toString): the
// shortest digits that read back as f, in plain notation from 1e-6 to
// below 1e21 and in exponent notation ("1e+21", "1.5e-7") outside.
func numberString(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		return "0"
	}
	sign := ""
	if f < 0 {
		sign, f = "-", -f
	}
	// d.ddde±x: the digits and the exponent n of ECMA-262's
	// Number::toString, where the value is 0.digits × 10^n.
	e := strconv.FormatFloat(f, 'e', -1, 64)
	mant, exp, _ := strings.Cut(e, "e")
	digits := strings.Replace(mant, ".", "", 1)
	x, _ := strconv.Atoi(exp)
	n, k := x+1, len(digits)
	switch {
	case k <= n && n <= 21:
		return sign + digits + strings.Repeat("0", n-k)
	case 0 < n && n <= 21:
		return sign + digits[:n] + "." + digits[n:]
	case -6 < n && n <= 0:
		return sign + "0." + strings.Repeat("0", -n) + digits
	}
	es := "+"
	if n-1 < 0 {
		es = "-"
	}
	m := digits[:1]
	if k > 1 {
		m += "." + digits[1:]
	}
	return sign + m + "e" + es + strconv.Itoa(abs(n-1))
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// addNumericalSeparator is Node's: "_" before every group of three
// characters from the end, leaving at least one in front (after a sign).
// Node applies it to String(n), exponent notation included.
func addNumericalSeparator(s string) string {
	start := 0
	if strings.HasPrefix(s, "-") {
		start = 1
	}
	res := ""
	i := len(s)
	for ; i >= start+4; i -= 3 {
		res = "_" + s[i-3:i] + res
	}
	return s[:i] + res
}

// kTypes of lib/internal/errors.js: the names ERR_INVALID_ARG_TYPE lists
// as types.
func isJSType(s string) bool {
	switch s {
	case "string", "function", "number", "object", "Function", "Object", "boolean", "bigint", "symbol":
		return true
	}
	return false
}

// isClassName is classRegExp: /^[A-Z][a-zA-Z0-9]*$/.
func isClassName(s string) bool {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// formatList joins a list as Node does: "a", "a or b", "a, b, or c".
func formatList(l []string, word string) string {
	switch len(l) {
	case 0:
		return ""
	case 1:
		return l[0]
	case 2:
		return l[0] + " " + word + " " + l[1]
	}
	return strings.Join(l[:len(l)-1], ", ") + ", " + word + " " + l[len(l)-1]
}

// argOrProperty is how Node names what it checked: a property when the
// name has a dot ("options.family"), an argument otherwise.
func argOrProperty(name string) string {
	if strings.Contains(name, ".") {
		return "property"
	}
	return "argument"
}

func encode(s string) []uint16 { return utf16.Encode([]rune(s)) }

// decode turns UTF-16 back into a Go string; a lone surrogate becomes
// U+FFFD, as Node writes it to a UTF-8 stream.
func decode(u []uint16) string { return string(utf16.Decode(u)) }

func has(u []uint16, c uint16) bool {
	for _, x := range u {
		if x == c {
			return true
		}
	}
	return false
}

func hasDollarBrace(u []uint16) bool {
	for i := 0; i+1 < len(u); i++ {
		if u[i] == '$' && u[i+1] == '{' {
			return true
		}
	}
	return false
}

// appendSurrogate appends the surrogate at u[i], as both util.inspect and
// JSON.stringify write one: a well-formed pair as it is (pair true: it
// took u[i+1] too), a lone surrogate as \uXXXX.
func appendSurrogate(out, u []uint16, i int) ([]uint16, bool) {
	c := u[i]
	if c < 0xdc00 && i+1 < len(u) && u[i+1] >= 0xdc00 && u[i+1] <= 0xdfff {
		return append(out, c, u[i+1]), true
	}
	return append(out, encode(`\u`+strconv.FormatUint(uint64(c), 16))...), false
}
