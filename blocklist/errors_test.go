package blocklist

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/nodenet/nodenet/netcore/nodetest"
)

// errorCase is one call whose error Node words: AddAddress with a family
// (ERR_INVALID_ARG_VALUE), AddSubnet with a prefix (ERR_OUT_OF_RANGE) or
// FromJSON with data (ERR_INVALID_ARG_TYPE).
type errorCase struct {
	Op     string `json:"op"` // family, prefix, json
	Family string `json:"family,omitempty"`
	Prefix int64  `json:"prefix,omitempty"`
	Data   string `json:"data,omitempty"`
}

func (c errorCase) run() error {
	b := New()
	switch c.Op {
	case "family":
		return b.AddAddress("1.2.3.4", c.Family)
	case "prefix":
		return b.AddSubnet("1.2.3.4", int(c.Prefix), IPv4)
	}
	return b.FromJSON([]byte(c.Data))
}

// TestErrorWordingAgainstNode checks the wording of blocklist's argument
// errors, through its public functions, against Node v26's BlockList on
// the same calls: families that are long, multi-line or quoted, prefixes
// beyond 2**32, and JSON values of every kind given to fromJSON.
func TestErrorWordingAgainstNode(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Node")
	}
	node := nodetest.Current(t)
	corpus := errorCorpus(3000, 9)
	var in strings.Builder
	for _, c := range corpus {
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		in.Write(b)
		in.WriteByte('\n')
	}
	const script = `
const { BlockList } = require('net');
const out = [];
for (const l of require('fs').readFileSync(0, 'utf8').split('\n')) {
  if (l === '') continue;
  const c = JSON.parse(l);
  let r = 'ok';
  try {
    const b = new BlockList();
    if (c.op === 'family') b.addAddress('1.2.3.4', c.family);
    else if (c.op === 'prefix') b.addSubnet('1.2.3.4', c.prefix ?? 0, 'ipv4');
    else b.fromJSON(c.data);
  } catch (e) { r = e.code + ': ' + e.message; }
  out.push(JSON.stringify(r));
}
process.stdout.write(out.join('\n') + '\n');
`
	out := nodetest.Run(t, node, script, []byte(in.String()), 2*time.Minute)
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(corpus) {
		t.Fatalf("node answered %d lines for %d cases", len(lines), len(corpus))
	}
	var bad []string
	failed := 0
	for i, c := range corpus {
		var want string
		if err := json.Unmarshal([]byte(lines[i]), &want); err != nil {
			t.Fatal(err)
		}
		got := "ok"
		if err := c.run(); err != nil {
			got = err.Error()
			failed++
		}
		if got != want {
			bad = append(bad, fmt.Sprintf("%+.200v:\n  nodenet %.300q\n  node    %.300q", c, got, want))
		}
	}
	if len(bad) > 0 {
		t.Errorf("%d of %d differ; the first:\n%s", len(bad), len(corpus), strings.Join(bad[:min(len(bad), 10)], "\n"))
	}
	if failed < len(corpus)*3/4 {
		t.Errorf("only %d of %d cases are errors: the corpus tests little", failed, len(corpus))
	}
}

func errorCorpus(n int, seed uint64) []errorCase {
	r := rand.New(rand.NewPCG(seed, 0xb10c))
	pick := func(l ...string) string { return l[r.IntN(len(l))] }
	pieces := []string{"a", "x", "'", `"`, "`", "${", "\\", "\n", "\t", "\x00", "\x7f", "\u0085", "é", "😀", " ", "ipv4"}
	text := func() string {
		k := []int{1, 3, 16, 17, 28, 29, 76, 77, 100, 127, 128, 129, 200, 9999, 10001}[r.IntN(15)]
		var b strings.Builder
		for b.Len() < k {
			if r.IntN(3) == 0 {
				b.WriteString(pieces[r.IntN(len(pieces))])
			} else {
				b.WriteString(pick("a", "\n", "'"))
			}
		}
		return b.String()
	}
	var jsonValue func(depth int) string
	jsonValue = func(depth int) string {
		switch r.IntN(9) {
		case 0:
			return pick("0", "-0", "5", "-1.5", "1e21", "1e-7", "1e400", "-1e400", "123456789012345678901234", "4294967297")
		case 1:
			s := text()
			b, _ := json.Marshal(s[:min(len(s), 1+r.IntN(40))])
			return strings.ToValidUTF8(string(b), "")
		case 2:
			return pick("true", "false", "null")
		case 3:
			return pick(`{}`, `{"a":1}`, `{"constructor":{"name":"Foo"}}`, `{"constructor":5}`, `{"constructor":{"name":""}}`, `{"__proto__":{}}`)
		}
		if depth > 1 {
			return `"Address: IPv4 1.2.3.4"`
		}
		elems := make([]string, r.IntN(4))
		for i := range elems {
			if r.IntN(3) == 0 {
				elems[i] = jsonValue(depth + 1)
			} else {
				elems[i] = pick(`"garbage"`, `"Address: IPv4 1.2.3.4"`, `"Subnet: IPv4 1.2.3.4/24"`)
			}
		}
		return "[" + strings.Join(elems, ",") + "]"
	}
	out := make([]errorCase, 0, n)
	for len(out) < n {
		var c errorCase
		switch r.IntN(3) {
		case 0:
			c = errorCase{Op: "family", Family: strings.ToValidUTF8(text(), "")}
			if f := strings.ToLower(c.Family); f == "ipv4" || f == "ipv6" {
				continue
			}
		case 1:
			v := []int64{33, -1, -33, 1 << 31, 1<<32 + 1, -(1<<32 + 1), 99999999999, 1 << 52}[r.IntN(8)]
			c = errorCase{Op: "prefix", Prefix: v + int64(r.IntN(1000))}
		default:
			c = errorCase{Op: "json", Data: jsonValue(0)}
		}
		out = append(out, c)
	}
	return out
}
