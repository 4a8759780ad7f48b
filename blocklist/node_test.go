package blocklist

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nodenet/nodenet/netcore/nodetest"
)

// The differential tests run the same random operations through this
// package and through Node v26's net.BlockList (one node process per batch,
// the cases on its stdin) and fail on any difference: in what each
// operation throws (code and message), in check results, in rules and
// size.

// nodeOp is one BlockList call. F is the family argument; "" leaves it
// out (Node's default, 'ipv4').
type nodeOp struct {
	Op     string `json:"op"`
	A      string `json:"a"`
	B      string `json:"b"`
	Prefix int    `json:"p,omitempty"`
	F      string `json:"f,omitempty"`
}

type nodeCheck struct {
	A string `json:"a"`
	F string `json:"f,omitempty"`
}

type nodeCase struct {
	Ops    []nodeOp    `json:"ops"`
	Checks []nodeCheck `json:"checks"`
	// After, when set, is checked and listed again after Rules were
	// listed once and these ops were run: rules added after a listing.
	Seed uint64 `json:"-"`
}

type nodeResult struct {
	Errs   [][2]string `json:"errs"` // code, message; nil entries are ""s
	Checks []bool      `json:"checks"`
	Rules  []string    `json:"rules"`
	Size   int         `json:"size"`
}

const nodeScript = `
const net = require('net');
const cases = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const out = [];
for (const c of cases) {
  const b = new net.BlockList();
  const errs = [];
  for (const op of c.ops) {
    const f = op.f === undefined ? undefined : op.f;
    try {
      switch (op.op) {
        case 'addAddress': b.addAddress(op.a, f); break;
        case 'addRange': b.addRange(op.a, op.b, f); break;
        case 'addSubnet': b.addSubnet(op.a, op.p ?? 0, f); break;
        case 'removeAddress': b.removeAddress(op.a, f); break;
        case 'removeRange': b.removeRange(op.a, op.b, f); break;
        case 'removeSubnet': b.removeSubnet(op.a, op.p ?? 0, f); break;
        case 'clear': b.clear(); break;
        case 'fromJSON': b.fromJSON(op.a); break;
        default: throw new Error('unknown op ' + op.op);
      }
      errs.push(['', '']);
    } catch (e) {
      if (e.code === undefined && !(e instanceof SyntaxError)) throw e;
      errs.push([e.code ?? 'SyntaxError', e.message]);
    }
  }
  const checks = (c.checks || []).map((k) => k.f === undefined ? b.check(k.a) : b.check(k.a, k.f));
  out.push({ errs, checks, rules: b.rules, size: b.size });
}
process.stdout.write(JSON.stringify(out));
`

// runNode runs the cases through Node v26.
func runNode(t *testing.T, cases []nodeCase) []nodeResult {
	t.Helper()
	node := nodetest.Current(t)
	in, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	out := nodetest.Run(t, node, nodeScript, in, 3*time.Minute)
	var res []nodeResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("node output: %v", err)
	}
	if len(res) != len(cases) {
		t.Fatalf("node answered %d cases of %d", len(res), len(cases))
	}
	return res
}

// runGo runs one case through this package.
func runGo(c nodeCase) nodeResult {
	b := New()
	var r nodeResult
	for _, op := range c.Ops {
		var err error
		switch op.Op {
		case "addAddress":
			err = b.AddAddress(op.A, op.F)
		case "addRange":
			err = b.AddRange(op.A, op.B, op.F)
		case "addSubnet":
			err = b.AddSubnet(op.A, op.Prefix, op.F)
		case "removeAddress":
			err = b.RemoveAddress(op.A, op.F)
		case "removeRange":
			err = b.RemoveRange(op.A, op.B, op.F)
		case "removeSubnet":
			err = b.RemoveSubnet(op.A, op.Prefix, op.F)
		case "clear":
			b.Clear()
		case "fromJSON":
			err = b.FromJSON([]byte(op.A))
		default:
			panic(op.Op)
		}
		switch e := err.(type) {
		case nil:
			r.Errs = append(r.Errs, [2]string{"", ""})
		case *Error:
			code := e.Code
			if code == "" {
				code = "SyntaxError"
			}
			r.Errs = append(r.Errs, [2]string{code, e.Message})
		default:
			r.Errs = append(r.Errs, [2]string{"?", err.Error()})
		}
	}
	for _, k := range c.Checks {
		ok, _ := b.Check(k.A, k.F)
		r.Checks = append(r.Checks, ok)
	}
	r.Rules = b.Rules()
	r.Size = b.Size()
	return r
}

// compareNode fails t on the first differences between Node and Go.
func compareNode(t *testing.T, cases []nodeCase, node []nodeResult) {
	t.Helper()
	failures := 0
	for i, c := range cases {
		got := runGo(c)
		want := node[i]
		var diffs []string
		for j := range c.Ops {
			w, g := want.Errs[j], got.Errs[j]
			if w[0] == "SyntaxError" && g[0] == "SyntaxError" {
				continue // V8's and Go's JSON messages differ
			}
			if w != g {
				diffs = append(diffs, fmt.Sprintf("op %d %+v: node threw %q, go %q", j, c.Ops[j], w, g))
			}
		}
		for j, k := range c.Checks {
			if want.Checks[j] != got.Checks[j] {
				diffs = append(diffs, fmt.Sprintf("check(%q, %q): node %v, go %v", k.A, k.F, want.Checks[j], got.Checks[j]))
			}
		}
		if !slices.Equal(want.Rules, got.Rules) {
			diffs = append(diffs, fmt.Sprintf("rules:\nnode %q\ngo   %q", want.Rules, got.Rules))
		}
		if want.Size != got.Size {
			diffs = append(diffs, fmt.Sprintf("size: node %d, go %d", want.Size, got.Size))
		}
		if len(diffs) > 0 {
			failures++
			if len(c.Ops) <= 40 {
				t.Errorf("case %d (seed %d) ops %+v:\n%s", i, c.Seed, c.Ops, strings.Join(diffs[:min(len(diffs), 8)], "\n"))
			} else {
				t.Errorf("case %d (seed %d), %d ops:\n%s", i, c.Seed, len(c.Ops), strings.Join(diffs[:min(len(diffs), 8)], "\n"))
			}
			if failures >= 10 {
				t.Fatalf("stopping after %d failing cases", failures)
			}
		}
	}
}

// gen makes random operations aimed at the edges: boundaries of the rules
// already added, both families and the mapped forms, every spelling libuv
// accepts and many it refuses.
type gen struct {
	r     *rand.Rand
	pool  []ip // addresses worth checking: rule edges and their neighbours
	added []nodeOp
}

func newGen(seed uint64) *gen {
	return &gen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

var interesting4 = []uint32{0, 1, 0x7f000001, 0x0a000000, 0x0a0000ff, 0xc0a80100, 0xfffffffe, 0xffffffff, 0x01010101, 0x80000000, 0x7fffffff}

var interesting6 = []ip{
	{}, {lo: 1}, {lo: 2}, {lo: mappedLo}, {lo: mappedLo | 0xffffffff}, {lo: mappedLo - 1},
	{lo: 0xfffe_ffffffff}, {lo: 1 << 48}, {hi: 0x20010db8 << 32}, {hi: ^uint64(0), lo: ^uint64(0)},
	{hi: 0xfe80 << 48, lo: 1}, {lo: 0x01020304}, {hi: 0x0064ff9b << 32, lo: 0x01020304},
	{hi: 1 << 63}, {hi: 1<<63 - 1, lo: ^uint64(0)},
}

func (g *gen) v4value() uint32 {
	switch g.r.IntN(4) {
	case 0:
		return interesting4[g.r.IntN(len(interesting4))]
	case 1:
		if len(g.pool) > 0 {
			p := g.pool[g.r.IntN(len(g.pool))]
			return p.v4value()
		}
	case 2:
		return 0x0a000000 | g.r.Uint32()&0xffff // a small space, so rules meet
	}
	return g.r.Uint32()
}

func (g *gen) v6value() ip {
	switch g.r.IntN(6) {
	case 0:
		return interesting6[g.r.IntN(len(interesting6))]
	case 1:
		if len(g.pool) > 0 {
			p := g.pool[g.r.IntN(len(g.pool))]
			p.v4 = false
			return p
		}
	case 2:
		return ip{lo: mappedLo | uint64(g.v4value())} // mapped
	case 3:
		return ip{hi: 0x20010db8 << 32, lo: uint64(g.r.IntN(1 << 16))} // a small space
	case 4:
		return ip{lo: uint64(g.v4value())} // IPv4-compatible ::a.b.c.d
	}
	return ip{hi: g.r.Uint64(), lo: g.r.Uint64()}
}

// value returns an address of the family, as a rule holds it.
func (g *gen) value(v4 bool) ip {
	if v4 {
		return ipFrom4(g.v4value())
	}
	return g.v6value()
}

// spell writes an address in one of the ways libuv reads it, or now and
// then in one it refuses.
func (g *gen) spell(a ip) string {
	var s string
	if a.v4 {
		s = a.String()
	} else {
		s = g.spell6(a)
	}
	if g.r.IntN(12) == 0 {
		return g.mangle(s)
	}
	return s
}

func (g *gen) spell6(a ip) string {
	var w [8]uint16
	for i := range 4 {
		w[i] = uint16(a.hi >> (48 - 16*i))
		w[4+i] = uint16(a.lo >> (48 - 16*i))
	}
	groups := make([]string, 8)
	for i, x := range w {
		h := strconv.FormatUint(uint64(x), 16)
		switch g.r.IntN(6) {
		case 0:
			h = strings.ToUpper(h)
		case 1:
			h = strings.Repeat("0", 4-len(h)) + h
		}
		groups[i] = h
	}
	var s string
	switch g.r.IntN(7) {
	case 0, 1:
		s = a.String()
	case 2:
		s = strings.Join(groups, ":")
	case 3:
		// A dotted tail.
		v := uint32(a.lo)
		s = strings.Join(groups[:6], ":") + ":" + appendIPv4Str(v)
		if a.hi == 0 && a.lo>>32 == 0xffff && g.r.IntN(2) == 0 {
			s = "::ffff:" + appendIPv4Str(v)
		}
	default:
		// Compress a run of zero groups (even a single one), if any.
		var runs [][2]int
		for i := 0; i < 8; i++ {
			if w[i] == 0 {
				j := i
				for j < 8 && w[j] == 0 {
					j++
				}
				for k := i; k < j; k++ {
					runs = append(runs, [2]int{k, j})
				}
				i = j
			}
		}
		if len(runs) == 0 {
			s = strings.Join(groups, ":")
			break
		}
		run := runs[g.r.IntN(len(runs))]
		s = strings.Join(groups[:run[0]], ":") + "::" + strings.Join(groups[run[1]:], ":")
	}
	switch g.r.IntN(10) {
	case 0:
		s += "%eth0"
	case 1:
		s += "%1"
	case 2:
		s += "%"
	}
	return s
}

func appendIPv4Str(v uint32) string { return string(appendIPv4(nil, v)) }

func (g *gen) mangle(s string) string {
	bad := []string{" ", "0", ":", ".", "::", "g", "-", "1", "\x00", "%x", "00000", "256", "\t"}
	switch g.r.IntN(6) {
	case 0:
		return " " + s
	case 1:
		return s + bad[g.r.IntN(len(bad))]
	case 2:
		if len(s) > 1 {
			i := g.r.IntN(len(s))
			return s[:i] + s[i+1:]
		}
	case 3:
		i := g.r.IntN(len(s) + 1)
		return s[:i] + bad[g.r.IntN(len(bad))] + s[i:]
	case 4:
		return strings.Replace(s, ".", ".0", 1)
	}
	return ""
}

func (g *gen) family(v4 bool) string {
	switch g.r.IntN(20) {
	case 0:
		return "foo"
	case 1:
		return []string{"IPv4", "IPV4", "iPv4"}[g.r.IntN(3)]
	case 2:
		return []string{"IPv6", "IPV6", "ipV6"}[g.r.IntN(3)]
	case 3:
		return "" // Node's default: ipv4
	case 4:
		if v4 {
			return IPv6
		}
		return IPv4
	}
	if v4 {
		if g.r.IntN(2) == 0 {
			return ""
		}
		return IPv4
	}
	return IPv6
}

var prefixes = []int{-1, 0, 1, 7, 8, 15, 16, 23, 24, 31, 32, 33, 47, 48, 63, 64, 65, 80, 95, 96, 97, 100, 112, 120, 127, 128, 129, 1000}

// remember adds a rule's edges, and their neighbours, to the pool.
func (g *gen) remember(addrs ...ip) {
	for _, a := range addrs {
		for _, d := range []int{-1, 0, 1} {
			x := a
			x.lo += uint64(d)
			g.pool = append(g.pool, x)
		}
	}
}

func (g *gen) op() nodeOp {
	if len(g.added) > 0 && g.r.IntN(8) == 0 {
		// Remove something that was added, or nearly.
		o := g.added[g.r.IntN(len(g.added))]
		o.Op = strings.Replace(o.Op, "add", "remove", 1)
		return o
	}
	v4 := g.r.IntN(2) == 0
	var o nodeOp
	switch g.r.IntN(3) {
	case 0:
		a := g.value(v4)
		g.remember(a)
		o = nodeOp{Op: "addAddress", A: g.spell(a), F: g.family(v4)}
	case 1:
		a, b := g.value(v4), g.value(v4)
		if g.r.IntN(4) != 0 && a.cmp(b) > 0 {
			a, b = b, a
		}
		if g.r.IntN(3) == 0 {
			b = a
			b.lo += uint64(g.r.IntN(300))
		}
		g.remember(a, b)
		o = nodeOp{Op: "addRange", A: g.spell(a), B: g.spell(b), F: g.family(v4)}
	default:
		a := g.value(v4)
		p := prefixes[g.r.IntN(len(prefixes))]
		if g.r.IntN(2) == 0 {
			if v4 {
				p = g.r.IntN(33)
			} else {
				p = g.r.IntN(129)
			}
		}
		if p >= 0 && p <= 128 {
			bits := p
			if a.v4 {
				bits += 96
			}
			bits = min(bits, 128)
			m := mask128(bits)
			lo := ip{hi: a.hi & m.hi, lo: a.lo & m.lo, v4: a.v4}
			hi := ip{hi: a.hi | ^m.hi, lo: a.lo | ^m.lo, v4: a.v4}
			g.remember(lo, hi)
		}
		o = nodeOp{Op: "addSubnet", A: g.spell(a), Prefix: p, F: g.family(v4)}
	}
	g.added = append(g.added, o)
	return o
}

func (g *gen) check() nodeCheck {
	var a ip
	v4 := g.r.IntN(2) == 0
	if len(g.pool) > 0 && g.r.IntN(4) != 0 {
		a = g.pool[g.r.IntN(len(g.pool))]
		switch {
		case a.v4 && !v4:
			a.v4 = false // the mapped form
		case !a.v4 && v4 && a.mapped():
			a.v4 = true
		}
	} else {
		a = g.value(v4)
	}
	f := IPv6
	if a.v4 {
		f = IPv4
	}
	switch g.r.IntN(16) {
	case 0:
		f = ""
	case 1:
		f = "bogus"
	case 2:
		f = "IPV4"
	case 3:
		f = "IpV6"
	}
	return nodeCheck{A: g.spell(a), F: f}
}

func (g *gen) fromJSONOp() nodeOp {
	var items []string
	for range g.r.IntN(6) {
		o := g.op()
		g.added = g.added[:len(g.added)-1]
		var s string
		switch o.Op {
		case "addAddress":
			s = "Address: IPv4 " + o.A
			if strings.Contains(o.A, ":") {
				s = "Address: IPv6 " + o.A
			}
		case "addRange":
			s = "Range: IPv4 " + o.A + "-" + o.B
			if strings.Contains(o.A, ":") {
				s = "Range: IPv6 " + o.A + "-" + o.B
			}
		case "addSubnet":
			s = "Subnet: IPv4 " + o.A + "/" + strconv.Itoa(o.Prefix)
			if strings.Contains(o.A, ":") {
				s = "Subnet: IPv6 " + o.A + "/" + strconv.Itoa(o.Prefix)
			}
		default:
			s = "Address: IPv4 " + o.A
		}
		switch g.r.IntN(8) {
		case 0:
			s = strings.ToLower(s)
		case 1:
			s = "x" + s + " y"
		case 2:
			s = g.mangle(s)
		}
		items = append(items, s)
	}
	data, _ := json.Marshal(items)
	switch g.r.IntN(15) {
	case 0:
		data = []byte(`[1]`)
	case 1:
		data = []byte(`{"a":1}`)
	case 2:
		data = []byte(`"x"`)
	case 3:
		data = []byte(`[`)
	}
	return nodeOp{Op: "fromJSON", A: string(data)}
}

func genCase(seed uint64, maxOps int) nodeCase {
	g := newGen(seed)
	c := nodeCase{Seed: seed}
	for range 1 + g.r.IntN(maxOps) {
		switch g.r.IntN(60) {
		case 0:
			c.Ops = append(c.Ops, nodeOp{Op: "clear"})
		case 1, 2:
			c.Ops = append(c.Ops, g.fromJSONOp())
		default:
			c.Ops = append(c.Ops, g.op())
		}
	}
	for range 40 {
		c.Checks = append(c.Checks, g.check())
	}
	return c
}

// TestNodeDifferential compares thousands of random BlockLists with Node.
func TestNodeDifferential(t *testing.T) {
	n := 4000
	if testing.Short() {
		n = 500
	}
	cases := make([]nodeCase, n)
	for i := range cases {
		cases[i] = genCase(uint64(i)+1, 30)
	}
	// Address soup: strings of address characters, for the parser's
	// edges (Node's parser is libuv's inet_pton, not net.isIP).
	for i := range n / 10 {
		r := rand.New(rand.NewPCG(uint64(i), 77))
		soup := func() string {
			const alphabet = "0123456789abcdefABCDEF:::::....%x \x00"
			var b strings.Builder
			for range r.IntN(46) {
				b.WriteByte(alphabet[r.IntN(len(alphabet))])
			}
			s := b.String()
			if r.IntN(3) == 0 {
				s = "::ffff:" + s
			}
			return s
		}
		var c nodeCase
		for range 30 {
			c.Ops = append(c.Ops, nodeOp{Op: "addAddress", A: soup(), F: []string{IPv4, IPv6}[r.IntN(2)]})
			c.Checks = append(c.Checks, nodeCheck{A: soup(), F: []string{IPv4, IPv6}[r.IntN(2)]})
		}
		cases = append(cases, c)
	}
	compareNode(t, cases, runNode(t, cases))
}

// TestNodeDifferentialLarge compares long lists of address rules, whose
// listing order is Node's hash table's through several rehashes, with
// removals and re-additions in the other form.
func TestNodeDifferentialLarge(t *testing.T) {
	var cases []nodeCase
	for i := range 12 {
		g := newGen(uint64(1000 + i))
		c := nodeCase{Seed: uint64(1000 + i)}
		n := 200 + g.r.IntN(3000)
		for range n {
			v4 := g.r.IntN(3) != 0
			a := g.value(v4)
			switch g.r.IntN(20) {
			case 0:
				if len(c.Ops) > 0 {
					o := c.Ops[g.r.IntN(len(c.Ops))]
					o.Op = "removeAddress"
					c.Ops = append(c.Ops, o)
					continue
				}
			case 1:
				a.v4 = !a.v4 && a.mapped() // the other form of an address that has one
			}
			f := IPv6
			if a.v4 {
				f = IPv4
			}
			c.Ops = append(c.Ops, nodeOp{Op: "addAddress", A: a.String(), F: f})
			g.remember(a)
		}
		for range 200 {
			c.Checks = append(c.Checks, g.check())
		}
		cases = append(cases, c)
	}
	compareNode(t, cases, runNode(t, cases))
}
