package nodeerr

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/nodenet/nodenet/netcore/nodetest"
)

func TestMessages(t *testing.T) {
	long := strings.Repeat("x", 10050)
	tests := []struct {
		name string
		err  *Error
		want string
	}{
		{"type undefined", InvalidArgType("prefix", []string{"number"}, Undefined{}),
			`ERR_INVALID_ARG_TYPE: The "prefix" argument must be of type number. Received undefined`},
		{"type list", InvalidArgType("data", []string{"string", "string[]"}, []any{1.0}),
			`ERR_INVALID_ARG_TYPE: The "data" argument must be of type string or string[]. Received an instance of Array`},
		{"type three kinds", InvalidArgType("options.x", []string{"object", "Buffer", "string[]"}, nil),
			`ERR_INVALID_ARG_TYPE: The "options.x" property must be an instance of Buffer or Object or string[]. Received null`},
		{"type first argument", InvalidArgType("first argument", []string{"string", "number", "boolean"}, true),
			`ERR_INVALID_ARG_TYPE: The first argument must be one of type string, number, or boolean. Received type boolean (true)`},
		{"type constructor name", InvalidArgType("data", []string{"string"}, map[string]any{"constructor": map[string]any{"name": "Foo"}}),
			`ERR_INVALID_ARG_TYPE: The "data" argument must be of type string. Received an instance of Foo`},
		{"type constructor not a class", InvalidArgType("data", []string{"string"}, map[string]any{"constructor": 5.0}),
			`ERR_INVALID_ARG_TYPE: The "data" argument must be of type string. Received [Object]`},
		{"port number", SocketBadPort("Port", 70000), "ERR_SOCKET_BAD_PORT: Port should be >= 0 and < 65536. Received type number (70000)."},
		{"port minus zero", SocketBadPort("Port", math.Copysign(0, -1)), "ERR_SOCKET_BAD_PORT: Port should be >= 0 and < 65536. Received type number (-0)."},
		{"port exponent", SocketBadPort("Port", 1e21), "ERR_SOCKET_BAD_PORT: Port should be >= 0 and < 65536. Received type number (1e+21)."},
		{"port string cut", SocketBadPort("options.port", strings.Repeat("y", 29)),
			"ERR_SOCKET_BAD_PORT: options.port should be >= 0 and < 65536. Received type string ('" + strings.Repeat("y", 25) + "...')."},
		{"port quote", SocketBadPort("Port", "it's\n"), `ERR_SOCKET_BAD_PORT: Port should be >= 0 and < 65536. Received type string ("it's\n").`},
		{"value quotes", InvalidArgValue("options.family", `it's "x"`, ""), "ERR_INVALID_ARG_VALUE: The property 'options.family' is invalid. Received `it's \"x\"`"},
		{"value reason", InvalidArgValue("address", "::1:80", "must be [IPv6]:PORT"), "ERR_INVALID_ARG_VALUE: The argument 'address' must be [IPv6]:PORT. Received '::1:80'"},
		{"value 76 units on one line", InvalidArgValue("a", "a\n"+strings.Repeat("b", 74), ""),
			`ERR_INVALID_ARG_VALUE: The argument 'a' is invalid. Received 'a\n` + strings.Repeat("b", 74) + "'"},
		{"value 77 units split", InvalidArgValue("a", "a\n"+strings.Repeat("b", 75), ""),
			`ERR_INVALID_ARG_VALUE: The argument 'a' is invalid. Received 'a\n' +` + "\n  '" + strings.Repeat("b", 75) + "'"},
		{"value cut at 128", InvalidArgValue("a", strings.Repeat("z", 200), ""),
			"ERR_INVALID_ARG_VALUE: The argument 'a' is invalid. Received '" + strings.Repeat("z", 127) + "..."},
		{"range separator", OutOfRange("prefix", ">= 0 && <= 32", 99999999999.0),
			`ERR_OUT_OF_RANGE: The value of "prefix" is out of range. It must be >= 0 && <= 32. Received 99_999_999_999`},
		{"range separator of an exponent", OutOfRange("prefix", ">= 0 && <= 32", 1e21),
			`ERR_OUT_OF_RANGE: The value of "prefix" is out of range. It must be >= 0 && <= 32. Received 1e_+21`},
		{"range 2**32 has none", OutOfRange("prefix", ">= 0 && <= 32", float64(1<<32)),
			`ERR_OUT_OF_RANGE: The value of "prefix" is out of range. It must be >= 0 && <= 32. Received 4294967296`},
		{"range string", OutOfRange("prefix", "an integer", "24x"),
			`ERR_OUT_OF_RANGE: The value of "prefix" is out of range. It must be an integer. Received '24x'`},
		{"range long string keeps the 10000 cut", OutOfRange("p", "an integer", long),
			`ERR_OUT_OF_RANGE: The value of "p" is out of range. It must be an integer. Received '` + long[:10000] + "'... 50 more characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("got\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func TestInspectString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"foo", "'foo'"},
		{"it's", `"it's"`},
		{`it's "x"`, "`it's \"x\"`"},
		{"it's \"x\" `y`", `'it\'s "x" ` + "`y`'"},
		{"it's \"x\" ${y}", `'it\'s "x" ${y}'`},
		{"a\nb\x00\x7f\u0085\u00a0", `'a\nb\x00\x7F\x85` + "\u00a0'"},
		{`back\slash`, `'back\\slash'`},
		{"😀", "'😀'"},
		{strings.Repeat("x", 10001), "'" + strings.Repeat("x", 10000) + "'... 1 more character"},
		{strings.Repeat("x", 9999) + "😀", "'" + strings.Repeat("x", 9999) + `\ud83d'... 1 more character`},
		{strings.Repeat("ab\n", 30), "'ab\\n' +\n  " + strings.Repeat("'ab\\n' +\n  ", 28) + "'ab\\n'"},
	}
	for _, tt := range tests {
		if got := Inspect(tt.in); got != tt.want {
			t.Errorf("Inspect(%.40q) = %.200q, want %.200q", tt.in, got, tt.want)
		}
	}
}

func TestNumberString(t *testing.T) {
	for f, want := range map[float64]string{
		1: "1", -1: "-1", 0.5: "0.5", 1e21: "1e+21", 1e20: "100000000000000000000", 123456789012345678901234: "1.2345678901234569e+23",
		1e-6: "0.000001", 1e-7: "1e-7", 1.5e-7: "1.5e-7", 0.1: "0.1", -2.5e300: "-2.5e+300", math.MaxFloat64: "1.7976931348623157e+308",
		5e-324: "5e-324", 4294967296: "4294967296",
	} {
		if got := numberString(f); got != want {
			t.Errorf("numberString(%v) = %s, want %s", f, got, want)
		}
	}
}

func TestErrorWraps(t *testing.T) {
	inner := errors.New("inner")
	err := error(&Error{Code: "ECONNREFUSED", Message: "connect ECONNREFUSED 127.0.0.1:1", Err: inner})
	if err.Error() != "connect ECONNREFUSED 127.0.0.1:1" || !errors.Is(err, inner) {
		t.Errorf("%v does not read or unwrap as a system error", err)
	}
}

// A case of the differential test: one of the functions, with its
// arguments; the value is tagged so that JSON carries what a Go value
// stands for (undefined, -0, Infinity, NaN).
type diffCase struct {
	Op       string   `json:"op"` // type, value, range, port, inspect, specific
	Name     string   `json:"name,omitempty"`
	Expected []string `json:"expected,omitempty"`
	Reason   string   `json:"reason,omitempty"`
	Range    string   `json:"range,omitempty"`
	V        jsValue  `json:"v"`
}

// jsValue is one JavaScript value: exactly one field is set.
type jsValue struct {
	S    *string `json:"s,omitempty"`    // a string
	N    string  `json:"n,omitempty"`    // Number(N)
	U    bool    `json:"u,omitempty"`    // undefined
	Null bool    `json:"null,omitempty"` // null
	B    *bool   `json:"b,omitempty"`    // a boolean
	J    string  `json:"j,omitempty"`    // JSON.parse(J)
}

// goValue is the Go value that stands for v.
func (v jsValue) goValue(t *testing.T) any {
	switch {
	case v.S != nil:
		return *v.S
	case v.N != "":
		f, err := strconv.ParseFloat(v.N, 64)
		if err != nil && !math.IsInf(f, 0) {
			t.Fatalf("number %q: %v", v.N, err)
		}
		return f
	case v.U:
		return Undefined{}
	case v.Null:
		return nil
	case v.B != nil:
		return *v.B
	}
	d := json.NewDecoder(strings.NewReader(v.J))
	d.UseNumber()
	var x any
	if err := d.Decode(&x); err != nil {
		t.Fatalf("JSON %q: %v", v.J, err)
	}
	return x
}

func (c diffCase) message(t *testing.T) string {
	v := c.V.goValue(t)
	switch c.Op {
	case "type":
		return InvalidArgType(c.Name, c.Expected, v).Error()
	case "value":
		return InvalidArgValue(c.Name, v, c.Reason).Error()
	case "range":
		return OutOfRange(c.Name, c.Range, v).Error()
	case "port":
		return SocketBadPort(c.Name, v).Error()
	case "inspect":
		return Inspect(v)
	case "specific":
		return specificType(v)
	}
	t.Fatalf("op %q", c.Op)
	return ""
}

const diffScript = `
const { codes, determineSpecificType } = require('internal/errors');
const { inspect } = require('util');
const value = (v) => {
  if ('s' in v) return v.s;
  if ('n' in v) return Number(v.n);
  if ('u' in v) return undefined;
  if ('null' in v) return null;
  if ('b' in v) return v.b;
  return JSON.parse(v.j);
};
const msg = (e) => e.code + ': ' + e.message;
const out = [];
for (const l of require('fs').readFileSync(0, 'utf8').split('\n')) {
  if (l === '') continue;
  const c = JSON.parse(l);
  const v = value(c.v);
  let r;
  switch (c.op) {
    case 'type': r = msg(new codes.ERR_INVALID_ARG_TYPE(c.name, c.expected, v)); break;
    case 'value': r = msg(new codes.ERR_INVALID_ARG_VALUE(c.name, v, c.reason)); break;
    case 'range': r = msg(new codes.ERR_OUT_OF_RANGE(c.name, c.range, v)); break;
    case 'port': r = msg(new codes.ERR_SOCKET_BAD_PORT(c.name, v)); break;
    case 'inspect': r = inspect(v); break;
    case 'specific': r = determineSpecificType(v); break;
  }
  out.push(JSON.stringify(r));
}
process.stdout.write(out.join('\n') + '\n');
`

// TestAgainstNode compares every function's wording with Node v26's own
// error classes, determineSpecificType and util.inspect, run once on a
// generated batch: strings around every cut (16, 25/28, 76, 128 and
// 10,000 UTF-16 units, surrogate pairs split by each), every quoting
// case, numbers in every notation, and the JSON values blocklist's
// fromJSON can receive.
func TestAgainstNode(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Node")
	}
	node := nodetest.Current(t)
	corpus := diffCorpus(6000, 26)
	var in bytes.Buffer
	enc := json.NewEncoder(&in)
	for _, c := range corpus {
		if err := enc.Encode(c); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// --expose-internals: the error classes and determineSpecificType of
	// lib/internal/errors.js, which Node's public functions throw.
	cmd := exec.CommandContext(ctx, node, "--expose-internals", "-e", diffScript)
	cmd.Stdin = &in
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != len(corpus) {
		t.Fatalf("node answered %d lines for %d cases", len(lines), len(corpus))
	}
	var bad []string
	ops := map[string]int{}
	for i, c := range corpus {
		var want string
		if err := json.Unmarshal([]byte(lines[i]), &want); err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
		ops[c.Op]++
		if got := c.message(t); got != want {
			in, _ := json.Marshal(c)
			bad = append(bad, fmt.Sprintf("%.300s:\n  nodenet %.300q\n  node    %.300q", in, got, want))
		}
	}
	if len(bad) > 0 {
		t.Errorf("%d of %d differ; the first:\n%s", len(bad), len(corpus), strings.Join(bad[:min(len(bad), 10)], "\n"))
	}
	for _, op := range []string{"type", "value", "range", "port", "inspect", "specific"} {
		if ops[op] < len(corpus)/20 {
			t.Errorf("only %d cases of %s", ops[op], op)
		}
	}
}

// diffCorpus generates n cases from a fixed seed.
func diffCorpus(n int, seed uint64) []diffCase {
	r := rand.New(rand.NewPCG(seed, 0xe77))
	pick := func(l ...string) string { return l[r.IntN(len(l))] }
	pieces := []string{"0", "1", "8", "x", "'", `"`, "`", "${", "$", "{", "\\", "\n", "\r", "\t", "\b", "\f", "\v", "\x00", "\x1b",
		"\x7f", "\u0085", "\u009f", "\u00a0", "é", "😀", "中", " ", "-", ".", "%", "/", "\u2028", "\ufeff"}
	str := func() string {
		// Lengths at and around every cut, in UTF-16 units.
		k := []int{0, 1, 5, 15, 16, 17, 24, 25, 26, 27, 28, 29, 30, 60, 75, 76, 77, 78, 100, 127, 128, 129, 130, 300,
			4999, 5000, 9998, 9999, 10000, 10001, 10002, 12000}[r.IntN(32)]
		var b []rune
		units := 0
		filler := pick("a", "a", "\n", "'", "😀", "ab\n")
		for units < k {
			p := filler
			if r.IntN(4) == 0 {
				p = pieces[r.IntN(len(pieces))]
			}
			for _, c := range p {
				b = append(b, c)
				units += len(utf16.Encode([]rune{c}))
			}
		}
		return string(b)
	}
	num := func() string {
		switch r.IntN(7) {
		case 0:
			return strconv.Itoa(r.IntN(200000) - 1000)
		case 1:
			return pick("-", "") + strings.Repeat(pick("9", "1", "0", "5"), 1+r.IntN(30))
		case 2:
			return pick("-0", "0", "Infinity", "-Infinity", "NaN", "1e21", "1e-7", "1e-6", "0.000001", "4294967296", "4294967297",
				"-4294967297", "9007199254740993", "1e308", "1e309", "5e-324", "0.1", "2.5", "-1.5e-10", "123e-20")
		case 3:
			return strconv.FormatFloat(r.NormFloat64()*math.Pow(10, float64(r.IntN(60)-30)), 'g', -1, 64)
		case 4:
			return strconv.FormatFloat(float64(r.Int64N(1<<62))*float64(1+r.IntN(1000)), 'f', -1, 64)
		}
		return strconv.Itoa(r.IntN(70000))
	}
	value := func() jsValue {
		switch r.IntN(10) {
		case 0, 1, 2, 3, 4:
			s := str()
			return jsValue{S: &s}
		case 5, 6:
			return jsValue{N: num()}
		case 7:
			b := r.IntN(2) == 0
			switch r.IntN(3) {
			case 0:
				return jsValue{U: true}
			case 1:
				return jsValue{Null: true}
			}
			return jsValue{B: &b}
		}
		return jsValue{J: pick(`[]`, `[1]`, `["a", 2]`, `{}`, `{"a":1}`, `{"constructor":5}`, `{"constructor":null}`,
			`{"constructor":{"name":"Foo"}}`, `{"constructor":{"name":""}}`, `{"constructor":{"name":7}}`, `{"constructor":[]}`,
			`{"constructor":"x"}`, `{"__proto__":{"constructor":{"name":"Q"}}}`, `{"constructor":{"name":"it's"}}`,
			`5`, `-0`, `1e400`, `"str"`, `null`, `true`, `false`)}
	}
	primitive := func() jsValue {
		for {
			if v := value(); v.J == "" {
				return v
			}
		}
	}
	names := []string{"data", "prefix", "options.family", "options.port", "Port", "first argument", "address", "a.b.c"}
	expected := [][]string{{"number"}, {"string", "string[]"}, {"string"}, {"Object"}, {"object", "Buffer"}, {"Function", "Array"},
		{"string", "number", "boolean"}, {"string[]", "Buffer[]"}, {"Array", "Buffer", "string", "object", "null"}, {"Iterable"}}
	out := make([]diffCase, 0, n)
	for len(out) < n {
		c := diffCase{Name: names[r.IntN(len(names))]}
		switch r.IntN(6) {
		case 0:
			c.Op, c.Expected, c.V = "type", expected[r.IntN(len(expected))], value()
		case 1:
			c.Op, c.V = "value", primitive()
			c.Reason = pick("", "", "must end with :PORT", "must put an IPv6 address in brackets: [IPv6]:PORT")
		case 2:
			c.Op, c.V = "range", primitive()
			c.Range = pick(">= 0 && <= 32", ">= 0 && <= 128", "an integer")
		case 3:
			c.Op, c.V = "port", value()
		case 4:
			c.Op, c.V = "inspect", primitive()
		default:
			c.Op, c.V = "specific", value()
		}
		out = append(out, c)
	}
	return out
}
