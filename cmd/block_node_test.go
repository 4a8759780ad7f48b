package cmd

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nodenet/nodenet/blocklist"
	"github.com/nodenet/nodenet/netcore/nodetest"
)

// TestBlockCLIMatchesNode runs the command line against Node v26: random
// rule sets go in through `block import`, and `block list` must print what
// blockList.rules prints after the same calls, `block check` must answer
// as blockList.check, and each invalid rule must fail with Node's code.
func TestBlockCLIMatchesNode(t *testing.T) {
	node := nodetest.Current(t)
	type call struct {
		Op string `json:"op"`
		A  string `json:"a"`
		B  string `json:"b"`
		P  int    `json:"p"`
		F  string `json:"f"`
	}
	type nodeCase struct {
		Calls  []call   `json:"calls"`
		Checks []string `json:"checks"`
		Bad    []call   `json:"bad"`
	}
	r := rand.New(rand.NewPCG(42, 42))
	addr := func(v4 bool) string {
		if v4 {
			return fmt.Sprintf("%d.%d.%d.%d", []int{10, 192, 1, 255}[r.IntN(4)], r.IntN(4), r.IntN(256), r.IntN(256))
		}
		switch r.IntN(3) {
		case 0:
			return fmt.Sprintf("::ffff:10.%d.%d.%d", r.IntN(4), r.IntN(256), r.IntN(256))
		case 1:
			return fmt.Sprintf("2001:db8::%x:%x", r.IntN(4), r.IntN(65536))
		}
		return fmt.Sprintf("%x::%x", r.IntN(65536), r.IntN(65536))
	}
	family := func(a string) string {
		if strings.Contains(a, ":") {
			return "ipv6"
		}
		return "ipv4"
	}
	var cases []nodeCase
	var inputs []string // the import files, one per case
	for range 60 {
		var c nodeCase
		var lines []string
		for range 1 + r.IntN(80) {
			v4 := r.IntN(2) == 0
			a := addr(v4)
			switch r.IntN(3) {
			case 0:
				c.Calls = append(c.Calls, call{Op: "addAddress", A: a, F: family(a)})
				lines = append(lines, a)
			case 1:
				b := addr(v4)
				if r.IntN(2) == 0 { // the same family as a's, mapped or not
					b = a
				}
				if sa, sb := sortKey(a), sortKey(b); sa > sb {
					a, b = b, a
				}
				c.Calls = append(c.Calls, call{Op: "addRange", A: a, B: b, F: family(a)})
				lines = append(lines, a+"-"+b)
			default:
				p := 8 + r.IntN(25)
				if !v4 {
					p = 64 + r.IntN(65)
				}
				c.Calls = append(c.Calls, call{Op: "addSubnet", A: a, P: p, F: family(a)})
				lines = append(lines, fmt.Sprintf("%s/%d", a, p))
			}
		}
		for range 60 {
			c.Checks = append(c.Checks, addr(r.IntN(2) == 0))
		}
		c.Bad = []call{
			{Op: "addAddress", A: "10.0.0." + []string{"256", "01", "1 ", ""}[r.IntN(4)], F: "ipv4"},
			{Op: "addRange", A: "10.0.0.9", B: "10.0.0.1", F: "ipv4"},
			{Op: "addSubnet", A: "2001:db8::", P: 129, F: "ipv6"},
		}
		cases = append(cases, c)
		inputs = append(inputs, strings.Join(lines, "\n")+"\n")
	}

	in, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	out := nodetest.Run(t, node, `
const net = require('net');
const cases = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const apply = (b, c) => {
  switch (c.op) {
    case 'addAddress': return b.addAddress(c.a, c.f);
    case 'addRange': return b.addRange(c.a, c.b, c.f);
    case 'addSubnet': return b.addSubnet(c.a, c.p, c.f);
  }
};
process.stdout.write(JSON.stringify(cases.map((c) => {
  const b = new net.BlockList();
  c.calls.forEach((x) => apply(b, x));
  const bad = c.bad.map((x) => { try { apply(new net.BlockList(), x); return ''; } catch (e) { return e.code + ': ' + e.message; } });
  const checks = c.checks.map((a) => b.check(a, net.isIPv6(a) ? 'ipv6' : 'ipv4'));
  return { rules: b.rules, checks, bad };
})));
`, in, 2*time.Minute)
	var want []struct {
		Rules  []string `json:"rules"`
		Checks []bool   `json:"checks"`
		Bad    []string `json:"bad"`
	}
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	run := func(stdin string, args ...string) (int, string, string) {
		var o, e bytes.Buffer
		code := Run(args, Test(strings.NewReader(stdin), &o, &e), []string{"XDG_CONFIG_HOME=" + dir})
		return code, o.String(), e.String()
	}
	for i, c := range cases {
		file := filepath.Join(dir, fmt.Sprintf("rules%d.json", i))
		src := filepath.Join(dir, fmt.Sprintf("in%d.txt", i))
		if err := os.WriteFile(src, []byte(inputs[i]), 0o644); err != nil {
			t.Fatal(err)
		}
		if code, _, stderr := run("", "block", "import", "--file", file, src); code != 0 {
			t.Fatalf("case %d: import: exit %d: %s", i, code, stderr)
		}
		_, list, _ := run("", "block", "list", "--file", file)
		if got := strings.Split(strings.TrimSuffix(list, "\n"), "\n"); !slices.Equal(got, want[i].Rules) {
			t.Errorf("case %d: list:\n%q\nnode:\n%q", i, got, want[i].Rules)
		}
		_, answers, _ := run(strings.Join(c.Checks, "\n")+"\n", "block", "check", "--file", file)
		for j, line := range strings.Split(strings.TrimSuffix(answers, "\n"), "\n") {
			w := c.Checks[j] + " allowed"
			if want[i].Checks[j] {
				w = c.Checks[j] + " blocked"
			}
			if line != w {
				t.Errorf("case %d: check: %q, node: %q", i, line, w)
			}
		}
		for j, b := range c.Bad {
			args := map[string][]string{
				"addAddress": {"block", "add", "--file", file, "--type", b.F, b.A},
				"addRange":   {"block", "add-range", "--file", file, b.A, b.B},
				"addSubnet":  {"block", "add-subnet", "--file", file, b.A, fmt.Sprint(b.P)},
			}[b.Op]
			code, _, stderr := run("", args...)
			if code != 2 || !strings.HasSuffix(strings.TrimSpace(stderr), want[i].Bad[j]) {
				t.Errorf("case %d: %v: exit %d, %q; node threw %q", i, args, code, stderr, want[i].Bad[j])
			}
		}
	}
}

// sortKey orders addresses of one family as Node compares them.
func sortKey(a string) string {
	b := netip.MustParseAddr(a).As16()
	return string(b[:])
}

// TestBlockImportLargeMatchesNode imports files of 60,000 rules (over 1
// MiB: read whole and parsed in two halves at once; the JSON one as a
// rule file), into an empty rule file and with --replace, and compares
// the listing with Node v26's blockList.rules after fromJSON of the same
// rules.
func TestBlockImportLargeMatchesNode(t *testing.T) {
	node := nodetest.Current(t)
	r := rand.New(rand.NewPCG(26, 26))
	var ruleStrs, lines []string
	for range 60000 {
		a4 := fmt.Sprintf("10.%d.%d.%d", r.IntN(4), r.IntN(256), r.IntN(256)) // crowded: duplicates
		a6 := fmt.Sprintf("2001:db8::%x:%x", r.IntN(16), r.IntN(65536))
		var rule, line string
		switch r.IntN(7) {
		case 0, 1:
			rule, line = "Address: IPv4 "+a4, a4
		case 2:
			rule, line = "Address: IPv6 ::ffff:"+a4, "::ffff:"+a4
		case 3:
			rule, line = "Address: IPv6 "+a6, a6
		case 4:
			p := 8 + r.IntN(25)
			rule, line = fmt.Sprintf("Subnet: IPv4 %s/%d", a4, p), fmt.Sprintf("%s/%d", a4, p)
		case 5:
			p := 64 + r.IntN(65)
			rule, line = fmt.Sprintf("Subnet: IPv6 %s/%d", a6, p), fmt.Sprintf("%s/%d", a6, p)
		default:
			rule = "Range: IPv6 2001:db8::-" + a6
			line = "2001:db8::-" + a6
		}
		ruleStrs = append(ruleStrs, rule)
		if r.IntN(2) == 0 {
			line = rule
		}
		lines = append(lines, line)
	}
	in, err := json.Marshal(ruleStrs)
	if err != nil {
		t.Fatal(err)
	}
	out := nodetest.Run(t, node, `
const net = require('net');
const b = new net.BlockList();
b.fromJSON(JSON.parse(require('fs').readFileSync(0, 'utf8')));
process.stdout.write(JSON.stringify(b.rules));
`, in, 2*time.Minute)
	var want []string
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	jsonIn := filepath.Join(dir, "in.json")
	linesIn := filepath.Join(dir, "in.txt")
	if err := os.WriteFile(jsonIn, blocklist.FormatRules(ruleStrs), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(linesIn, []byte("# rules\n"+strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, src := range []string{jsonIn, linesIn} {
		if fi, err := os.Stat(src); err != nil || fi.Size() < 1<<20 {
			t.Fatalf("%s: %v, want over 1 MiB", src, err)
		}
	}
	for _, c := range []struct {
		name    string
		src     string
		replace bool
	}{{"JSON", jsonIn, false}, {"lines", linesIn, false}, {"JSON --replace", jsonIn, true}, {"lines --replace", linesIn, true}} {
		file := filepath.Join(t.TempDir(), "rules.json")
		if c.replace {
			if err := os.WriteFile(file, blocklist.FormatRules([]string{"Address: IPv4 10.0.0.1", "Subnet: IPv6 ::/0"}), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		opts := &BlockImportOptions{IO: Test(nil, io.Discard, io.Discard), BlockFileOptions: BlockFileOptions{File: file}, Source: c.src, Replace: c.replace}
		if err := blockImportRun(opts); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := readRules(t, file); !slices.Equal(got, want) {
			i := 0
			for i < min(len(got), len(want)) && got[i] == want[i] {
				i++
			}
			t.Errorf("%s: %d rules listed, node %d; first difference at %d", c.name, len(got), len(want), i)
		}
	}
}
