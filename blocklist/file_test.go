package blocklist

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
)

// randomList adds n random rules (the differential tests' generator) and
// returns the list.
func randomList(t testing.TB, n int, seed uint64) *BlockList {
	g := newGen(seed)
	b := New()
	for b.Size() < n {
		o := g.op()
		var err error
		switch o.Op {
		case "addAddress":
			err = b.AddAddress(o.A, o.F)
		case "addRange":
			err = b.AddRange(o.A, o.B, o.F)
		case "addSubnet":
			err = b.AddSubnet(o.A, o.Prefix, o.F)
		}
		_ = err // invalid ones are skipped
	}
	return b
}

func TestFileRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 50, 3000, 40000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			b := randomList(t, n, uint64(n)+7)
			data := Format(b)
			if n == 40000 && len(data) < parallelScanMin {
				t.Fatalf("%d bytes: too small to be read in halves", len(data))
			}
			got, err := Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.Rules(), b.Rules()) || got.Size() != b.Size() {
				t.Fatalf("rules differ after a round trip")
			}
			if !bytes.Equal(Format(got), data) {
				t.Fatal("Format(Parse(file)) != file")
			}
			// The same answers.
			g := newGen(99)
			g.pool = append(g.pool, got.vals...)
			for range 2000 {
				k := g.check()
				w, _ := b.Check(k.A, k.F)
				if c, _ := got.Check(k.A, k.F); c != w {
					t.Fatalf("check(%q, %q): %v after the round trip, %v before", k.A, k.F, c, w)
				}
			}
		})
	}
}

// TestFileReloadAddsInPlace checks the replica of Node's address table
// that a listing is read into: it lists the file exactly, and whatever
// Node printed can be read this way (the differential tests show that the
// replica prints what Node prints).
func TestFileReloadAddsInPlace(t *testing.T) {
	for seed := range uint64(200) {
		g := newGen(seed + 500)
		b := New()
		for range 1 + g.r.IntN(2000) {
			v4 := g.r.IntN(3) != 0
			must(t, b.Add(Rule{Kind: AddressRule, Start: g.value(v4).netipAddr()}))
		}
		got, err := Parse(Format(b))
		if err != nil {
			t.Fatal(err)
		}
		got.dedupListed()
		if _, ok := replayTable(got.vals, got.order); !ok && placeTable(got.vals, got.order, nil) == nil {
			t.Fatalf("seed %d: no table lists the %d addresses as Node did", seed, b.Size())
		}
		want := b.Rules()
		must(t, got.AddAddress("203.0.113.1", "")) // builds the table
		must(t, got.RemoveAddress("203.0.113.1", ""))
		if !slices.Equal(got.Rules(), want) {
			t.Fatalf("seed %d: the rebuilt table lists the file differently", seed)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct {
		name, data string
		line, col  int
		want       string // in the message
	}{
		{"not an array", `{"a": 1}`, 1, 1, "want a JSON array"},
		{"not a string", "[\n  \"Address: IPv4 1.2.3.4\",\n  7\n]", 3, 3, "want a rule string, found '7'"},
		{"bad address", "[\n  \"Address: IPv4 1.2.3.4\",\n  \"Address: IPv4 1.2.3.999\"\n]", 3, 3, "ERR_INVALID_ADDRESS: Invalid socket address"},
		{"bad prefix", "[\"Subnet: IPv4 10.0.0.0/33\"]", 1, 2, "ERR_OUT_OF_RANGE"},
		{"not a rule", "[\"10.0.0.1\"]", 1, 2, "ERR_INVALID_ARG_VALUE: The argument 'rule' is invalid. Received '10.0.0.1'"},
		{"lenient no more", "[\"xAddress: IPv4 1.2.3.4\"]", 1, 2, "ERR_INVALID_ARG_VALUE"},
		{"missing comma", "[\"Address: IPv4 1.2.3.4\" \"Address: IPv4 1.2.3.5\"]", 1, 26, "want ',' or ']'"},
		{"unterminated", "[\"Address: IPv4 1.2.3.4", 1, 24, "unterminated string"},
		{"raw newline", "[\"Address: IPv4\n1.2.3.4\"]", 1, 16, "control character"},
		{"trailing", "[]\n[]", 2, 1, "want the end of the file"},
		{"truncated", "[\n  \"Address: IPv4 1.2.3.4\",\n", 3, 1, "unexpected end of JSON"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.data))
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("got %v, want a *FileError", err)
			}
			if fe.Line != c.line || fe.Col != c.col || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %d:%d %q, want %d:%d and %q", fe.Line, fe.Col, err, c.line, c.col, c.want)
			}
		})
	}
	// An error in the second half of a file read in halves is reported
	// where it is, as when read in one go.
	b := randomList(t, 40000, 3)
	data := Format(b)
	bad := bytes.Replace(data, []byte(`"Address: IPv4 `), []byte(`"Address: IPv4 x`), 1)
	i := bytes.LastIndex(data, []byte(`"Subnet: IPv`))
	bad2 := slices.Concat(data[:i], []byte(`"Subnet: IPv4 1.2.3.4/40"`), data[bytes.IndexByte(data[i+1:], '"')+i+2:])
	for _, d := range [][]byte{bad, bad2} {
		_, err := Parse(d)
		var fe *FileError
		if !errors.As(err, &fe) {
			t.Fatalf("got %v", err)
		}
		var rules ruleList
		want := atPosition(d, scanElements(d, 0, len(d), true, true, &rules))
		if err.Error() != want.Error() {
			t.Errorf("read in halves: %v; in one go: %v", err, want)
		}
	}
}

func TestParseEscapesAndSpace(t *testing.T) {
	b, err := Parse([]byte("  [ \"Address: IPv4 1.2.3.4\" ,\"\\u0041ddress: IPv6 ::1\",\r\n\"Range: IPv4 1.1.1.1-1.1.1.2\"]  \n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Address: IPv4 1.2.3.4", "Address: IPv6 ::1", "Range: IPv4 1.1.1.1-1.1.1.2"}
	if got := b.Rules(); !slices.Equal(got, want) {
		t.Errorf("rules = %q", got)
	}
	for _, empty := range []string{"", " \n", "[]", "[ ]\n"} {
		b, err := Parse([]byte(empty))
		if err != nil || b.Size() != 0 {
			t.Errorf("Parse(%q) = %v rules, %v", empty, b.Size(), err)
		}
	}
}

func TestLoadFileMissing(t *testing.T) {
	_, err := LoadFile(filepath.Join(t.TempDir(), "none.json"))
	var fe *FileError
	if !errors.As(err, &fe) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("got %v, want a *FileError for a missing file", err)
	}
}

func sum(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func TestUpdateFailsCleanly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rules.json")
	must(t, Update(path, func(b *BlockList) error { return b.AddAddress("10.0.0.1", "") }))
	before := sum(t, path)
	err := Update(path, func(b *BlockList) error {
		must(t, b.AddAddress("10.0.0.2", ""))
		return b.AddAddress("10.0.0.999", "")
	})
	var e *Error
	if !errors.As(err, &e) || e.Code != "ERR_INVALID_ADDRESS" {
		t.Fatalf("got %v", err)
	}
	if sum(t, path) != before {
		t.Error("a failed change rewrote the file")
	}
	// A broken file is an error, and is not written over.
	must(t, os.WriteFile(path, []byte("[\"Address: IPv4 10.0.0.1\",\n oops]"), 0o600))
	before = sum(t, path)
	err = Update(path, func(b *BlockList) error { return b.AddAddress("10.0.0.3", "") })
	var fe *FileError
	if !errors.As(err, &fe) || fe.Line != 2 || fe.Col != 2 {
		t.Fatalf("got %v, want an error at 2:2", err)
	}
	if sum(t, path) != before {
		t.Error("a broken file was written over")
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

func TestUpdateKeepsMode(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix modes")
	}
	path := filepath.Join(t.TempDir(), "rules.json")
	must(t, os.WriteFile(path, []byte("[]"), 0o640))
	must(t, os.Chmod(path, 0o640))
	must(t, Update(path, func(b *BlockList) error { return b.AddAddress("10.0.0.1", "") }))
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, %v; want 0640", fi.Mode(), err)
	}
}

// TestUpdateConcurrent has twenty writers add a rule each at once, each
// through its own lock file descriptor, as twenty processes would: none
// may be lost. (cmd's testscript does the same with twenty processes.)
func TestUpdateConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rules.json")
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			err := Update(path, func(b *BlockList) error {
				return b.AddAddress(fmt.Sprintf("10.0.0.%d", i), "")
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	b, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if b.Size() != 20 {
		t.Errorf("%d rules, want 20: %q", b.Size(), b.Rules())
	}
}

// TestLoadFileLarge loads files large enough to be read in halves: one as
// Format writes it, one all on one line (nowhere to split), one with a bad
// rule in its second half, which is reported where it is.
func TestLoadFileLarge(t *testing.T) {
	b := randomList(t, 40000, 11)
	data := Format(b)
	if len(data) < parallelScanMin {
		t.Fatalf("%d bytes: too small to be read in halves", len(data))
	}
	dir := t.TempDir()
	oneLine, err := json.Marshal(b.Rules())
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.LastIndex(data, []byte(`"Subnet: IPv`))
	bad := slices.Concat(data[:i], []byte(`"Subnet: IPv4 1.2.3.4/40"`), data[bytes.IndexByte(data[i+1:], '"')+i+2:])
	for name, d := range map[string][]byte{"lines": data, "one line": oneLine, "bad": bad} {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".json")
		must(t, os.WriteFile(path, d, 0o644))
		got, err := LoadFile(path)
		if name == "bad" {
			line, col := position(d, i)
			want := fmt.Sprintf("%s:%d:%d: ERR_OUT_OF_RANGE", path, line, col)
			if err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Errorf("%s: got %v, want %s...", name, err, want)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !slices.Equal(got.Rules(), b.Rules()) {
			t.Errorf("%s: rules differ", name)
		}
		for _, k := range []string{"10.0.0.1", "2001:db8::1", "::ffff:10.0.0.1"} {
			w, _ := b.Check(k, familyOfTest(k))
			if g, _ := got.Check(k, familyOfTest(k)); g != w {
				t.Errorf("%s: check(%s) = %v, want %v", name, k, g, w)
			}
		}
	}
}
