package cmd

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nodenet/nodenet/blocklist"
)

// nodeImport is an import of n of Node's rule strings (what export
// prints), one element a line: addresses of both families, some again
// (the same or in the other form), subnets and ranges.
func nodeImport(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 3))
	v4s := make([]netip.Addr, n/4+1)
	for i := range v4s {
		v4s[i] = netip.AddrFrom4([4]byte{byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())})
	}
	v6 := func() netip.Addr {
		var a [16]byte
		for j := range a {
			if r.IntN(3) > 0 {
				a[j] = byte(r.Uint32())
			}
		}
		return netip.AddrFrom16(a)
	}
	var b bytes.Buffer
	b.WriteString("[\n")
	for i := range n {
		v4 := v4s[r.IntN(len(v4s))]
		var rule string
		switch r.IntN(7) {
		case 0, 1:
			rule = "Address: IPv4 " + v4.String()
		case 2:
			rule = "Address: IPv6 ::ffff:" + v4.String()
		case 3:
			rule = "Address: IPv6 " + v6().String()
		case 4:
			rule = fmt.Sprintf("Subnet: IPv4 %s/%d", v4, r.IntN(33))
		case 5:
			rule = fmt.Sprintf("Subnet: IPv6 %s/%d", v6(), r.IntN(129))
		default:
			a := v6()
			rule = fmt.Sprintf("Range: IPv6 %s-%s", a, a.Next())
		}
		sep := ",\n"
		if i == n-1 {
			sep = "\n]\n"
		}
		fmt.Fprintf(&b, "  %q%s", rule, sep)
	}
	return b.Bytes()
}

// importRun runs `block import [--replace] --file FILE SOURCE`.
func importRun(t *testing.T, file, source string, replace bool) error {
	t.Helper()
	ios := Test(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
	return blockImportRun(&BlockImportOptions{IO: ios, BlockFileOptions: BlockFileOptions{File: file}, Source: source, Replace: replace})
}

// TestBlockImportFast: an import of Node's rule strings read whole goes
// the fast way (blocklist.Import) into a new rule file and replacing one,
// and the general way when adding to rules; each writes the rule file
// that the general way (parseImport, then AddBatch under the lock)
// writes.
func TestBlockImportFast(t *testing.T) {
	dir := t.TempDir()
	data := nodeImport(40000, 1)
	if len(data) < 1<<20 {
		t.Fatalf("an import of %d bytes is not read whole", len(data))
	}
	source := filepath.Join(dir, "import.json")
	if err := os.WriteFile(source, data, 0o644); err != nil {
		t.Fatal(err)
	}
	rules, err := parseImport(source, bytes.NewReader(data), "")
	if err != nil {
		t.Fatal(err)
	}
	want := importedFile(t, rules)

	// The fast way is taken.
	fast := filepath.Join(dir, "fast.json")
	if done, err := blockImportFast(&BlockImportOptions{BlockFileOptions: BlockFileOptions{File: fast}}, data); !done || err != nil {
		t.Fatalf("blockImportFast: %v, %v", done, err)
	}
	if got, _ := os.ReadFile(fast); !bytes.Equal(got, want) {
		t.Fatal("the fast way wrote another rule file")
	}

	// A new file, and replacing one.
	file := filepath.Join(dir, "rules.json")
	for _, replace := range []bool{false, true} {
		if err := importRun(t, file, source, replace); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(file); !bytes.Equal(got, want) {
			t.Fatalf("replace %v: another rule file", replace)
		}
	}

	// Adding to rules there are: the general way, as Update does.
	old := blocklist.FormatRules([]string{"Address: IPv4 9.9.9.9", "Subnet: IPv4 10.0.0.0/8"})
	if err := os.WriteFile(file, old, 0o644); err != nil {
		t.Fatal(err)
	}
	if done, err := blockImportFast(&BlockImportOptions{BlockFileOptions: BlockFileOptions{File: file}}, data); done || err != nil {
		t.Fatalf("blockImportFast adding to rules: %v, %v", done, err)
	}
	if err := importRun(t, file, source, false); err != nil {
		t.Fatal(err)
	}
	wantFile := filepath.Join(dir, "want.json")
	os.WriteFile(wantFile, old, 0o644)
	rules, _ = parseImport(source, bytes.NewReader(data), "")
	if err := blocklist.Update(wantFile, func(b *blocklist.BlockList) error { b.AddBatch(rules); return nil }); err != nil {
		t.Fatal(err)
	}
	if got, w := mustRead(t, file), mustRead(t, wantFile); !bytes.Equal(got, w) {
		t.Fatal("adding to rules: another rule file")
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBlockImportFastErrors: an import that the fast way does not take is
// read the general way, which names the line of its first problem, in
// either half, and leaves the rule file as it was; so does a rule file
// that --replace cannot read.
func TestBlockImportFastErrors(t *testing.T) {
	dir := t.TempDir()
	data := nodeImport(40000, 2)
	lines := bytes.SplitAfter(data, []byte{'\n'})
	file := filepath.Join(dir, "rules.json")
	old := blocklist.FormatRules([]string{"Address: IPv4 9.9.9.9"})
	for _, at := range []int{1, 2, len(lines) / 3, len(lines)/2 + 7, len(lines) - 3, len(lines) - 2} {
		for _, bad := range []string{`  "Address: IPv4 1.2.3",` + "\n", `  "Subnet: IPv4 10.0.0.0/33",` + "\n", `  7,` + "\n", `  "Address: IPv6 ::1",,` + "\n"} {
			in := bytes.Join([][]byte{bytes.Join(lines[:at], nil), []byte(bad), bytes.Join(lines[at:], nil)}, nil)
			source := filepath.Join(dir, "import.json")
			if err := os.WriteFile(source, in, 0o644); err != nil {
				t.Fatal(err)
			}
			_, want := parseImport(source, bytes.NewReader(in), "")
			if want == nil {
				t.Fatalf("line %d, %q: no error", at+1, bad)
			}
			if !strings.Contains(want.Error(), fmt.Sprintf(":%d: ", at+1)) {
				t.Fatalf("line %d, %q: %v names another line", at+1, bad, want)
			}
			for _, replace := range []bool{false, true} {
				os.WriteFile(file, old, 0o644)
				err := importRun(t, file, source, replace)
				if err == nil || err.Error() != want.Error() {
					t.Fatalf("line %d, %q, replace %v: %v; want %v", at+1, bad, replace, err, want)
				}
				if got := mustRead(t, file); !bytes.Equal(got, old) {
					t.Fatalf("line %d, %q: the rule file changed", at+1, bad)
				}
			}
		}
	}
	// A rule file that cannot be read is not replaced.
	source := filepath.Join(dir, "import.json")
	os.WriteFile(source, data, 0o644)
	broken := []byte("[\n  \"Address: IPv4 10.0.0.1\",\n  \"Address: IPv4 10.0.0.256\"\n]\n")
	os.WriteFile(file, broken, 0o644)
	err := importRun(t, file, source, true)
	if err == nil || !strings.Contains(err.Error(), "rules.json:3:3: ERR_INVALID_ADDRESS") {
		t.Fatalf("replacing a broken rule file: %v", err)
	}
	if got := mustRead(t, file); !bytes.Equal(got, broken) {
		t.Fatal("the broken rule file was written over")
	}
}
