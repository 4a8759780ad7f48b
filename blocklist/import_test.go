package blocklist

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// importTexts are ways to write the IPv6 address hi:lo that Node's
// BlockList reads: Node's own, and others (upper case, leading zeros,
// every group, another run of zeros left out, a dotted tail or not).
func importTexts(r *rand.Rand, hi, lo uint64) []string {
	var w [8]uint16
	for i := range 4 {
		w[i] = uint16(hi >> (48 - 16*i))
		w[4+i] = uint16(lo >> (48 - 16*i))
	}
	group := func(g uint16, pad bool) string {
		if pad {
			return fmt.Sprintf("%04x", g)
		}
		return fmt.Sprintf("%x", g)
	}
	out := []string{string(appendAddress(nil, ip{hi: hi, lo: lo}))}
	// Every group, some padded; and each run of zeros left out.
	for range 3 {
		var gs []string
		for _, g := range w {
			gs = append(gs, group(g, r.IntN(4) == 0))
		}
		out = append(out, strings.Join(gs, ":"))
		for i := 0; i < 8; i++ {
			for j := i + 1; j <= 8; j++ {
				if w[j-1] != 0 {
					break
				}
				out = append(out, strings.Join(gs[:i], ":")+"::"+strings.Join(gs[j:], ":"))
			}
		}
		// A dotted tail.
		tail := fmt.Sprintf("%d.%d.%d.%d", byte(lo>>24), byte(lo>>16), byte(lo>>8), byte(lo))
		out = append(out, strings.Join(gs[:6], ":")+":"+tail)
		for i := 0; i < 6; i++ {
			for j := i + 1; j <= 6; j++ {
				if w[j-1] != 0 {
					break
				}
				out = append(out, strings.Join(gs[:i], ":")+"::"+strings.Join(gs[j:6], ":")+colonIf(j < 6)+tail)
			}
		}
	}
	for i := range out {
		if r.IntN(3) == 0 {
			out[i] = strings.ToUpper(out[i])
		}
	}
	return out
}

func colonIf(b bool) string {
	if b {
		return ":"
	}
	return ""
}

// randomIPv6 is an address with runs of zero groups, mapped and
// compatible IPv4 tails, and ffff groups now and then.
func randomIPv6(r *rand.Rand) (hi, lo uint64) {
	var w [8]uint16
	for i := range w {
		switch r.IntN(4) {
		case 0, 1:
			w[i] = 0
		case 2:
			w[i] = uint16(r.IntN(1 << (4 * (1 + r.IntN(4)))))
		default:
			w[i] = 0xffff
		}
	}
	switch r.IntN(6) {
	case 0: // ::ffff:a.b.c.d
		w = [8]uint16{0, 0, 0, 0, 0, 0xffff, uint16(r.Uint32()), uint16(r.Uint32())}
	case 1: // ::a.b.c.d
		w = [8]uint16{0, 0, 0, 0, 0, 0, uint16(r.Uint32()), uint16(r.IntN(3))}
	}
	for i := range 4 {
		hi = hi<<16 | uint64(w[i])
		lo = lo<<16 | uint64(w[4+i])
	}
	return hi, lo
}

// TestNodeIPv6 checks nodeIPv6 against appendAddress: for every way of
// writing an address that reads back as it, it says whether that is how
// Node writes it.
func TestNodeIPv6(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	seen, nodes := 0, 0
	for range 3000 {
		hi, lo := randomIPv6(r)
		want := string(appendAddress(nil, ip{hi: hi, lo: lo}))
		for _, text := range importTexts(r, hi, lo) {
			h, l, ok := parseIPv6(text)
			if !ok || h != hi || l != lo {
				continue
			}
			seen++
			// The text where an address ends, and where more follows.
			got := nodeIPv6([]byte(text), hi, lo) == len(text)
			if more := []byte(text + "-ffff::1\""); (nodeIPv6(more[:len(text)], hi, lo) == len(text)) != got {
				t.Fatalf("nodeIPv6(%q) reads the bytes after it", text)
			}
			if got != (text == want) {
				t.Fatalf("nodeIPv6(%q) for %s = %v", text, want, got)
			}
			if got {
				nodes++
			}
		}
	}
	if nodes < 1000 || seen-nodes < 10000 {
		t.Fatalf("%d texts, %d of them Node's: the generator lost its way", seen, nodes)
	}
}

// importRule writes a random rule as an import may: Node's rule strings,
// with addresses written Node's way or another, IPv4 addresses again in
// either form (and so duplicates), subnets and ranges of both families.
func importRule(r *rand.Rand, v4s []uint32) string {
	v6 := func() string {
		hi, lo := randomIPv6(r)
		texts := importTexts(r, hi, lo)
		return texts[r.IntN(len(texts))]
	}
	v4 := func() uint32 { return v4s[r.IntN(len(v4s))] }
	dotted := func(a uint32) string { return ipFrom4(a).String() }
	switch r.IntN(8) {
	case 0, 1:
		return "Address: IPv4 " + dotted(v4())
	case 2:
		return "Address: IPv6 ::ffff:" + dotted(v4())
	case 3:
		return "Address: IPv6 " + v6()
	case 4:
		return fmt.Sprintf("Subnet: IPv4 %s/%d", dotted(v4()), r.IntN(33))
	case 5:
		return fmt.Sprintf("Subnet: IPv6 %s/%d", v6(), r.IntN(129))
	case 6:
		a, b := v4(), v4()
		return fmt.Sprintf("Range: IPv4 %s-%s", dotted(min(a, b)), dotted(max(a, b)))
	default:
		hi, lo := randomIPv6(r)
		end := ip{hi: hi, lo: lo + uint64(r.IntN(1000))}
		if end.lo < lo {
			end.lo = lo
		}
		return fmt.Sprintf("Range: IPv6 %s-%s", appendAddress(nil, ip{hi: hi, lo: lo}), appendAddress(nil, end))
	}
}

// importData is a rule file of n random rules, as JSON, one per line, with
// the spacing given.
func importData(r *rand.Rand, n int, indent string) []byte {
	v4s := make([]uint32, max(n/3, 1))
	for i := range v4s {
		v4s[i] = r.Uint32()
	}
	var b bytes.Buffer
	b.WriteString("[\n")
	for i := range n {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, "%s%q", indent, importRule(r, v4s))
	}
	b.WriteString("\n]\n")
	return b.Bytes()
}

// importByUpdate is what Import must write: the rule file Update writes
// with AddBatch (after Reset when replace is set).
func importByUpdate(t *testing.T, path string, data []byte, replace bool) []byte {
	t.Helper()
	var bt Batch
	if _, err := bt.ParseFile(data); err != nil {
		t.Fatal(err)
	}
	err := Update(path, func(b *BlockList) error {
		if replace {
			b.Reset()
		}
		b.AddBatch(&bt)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestImportAsUpdate compares Import with Update and AddBatch on
// generated imports: small ones (read in one part) and large ones (two
// parts, read at once), with duplicates in either form, both families,
// and addresses written Node's way or another (formatted, then); into a
// new rule file, and replacing one.
func TestImportAsUpdate(t *testing.T) {
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(1, 2))
	for i, n := range []int{1, 2, 3, 10, 300, 5000, 40000} {
		for _, indent := range []string{"  ", " ", "\t", "crlf"} {
			var data []byte
			if indent == "crlf" {
				// Lines that end in "\r\n": nowhere to cut it.
				data = bytes.ReplaceAll(importData(r, n, "  "), []byte("\n"), []byte("\r\n"))
			} else {
				data = importData(r, n, indent)
			}
			// The test reads what it means to: in two parts when large,
			// texts copied and texts formatted.
			ir := readImport(data)
			if ir == nil {
				t.Fatalf("%d rules: readImport did not read them", n)
			}
			if parts := 1 + b2i(len(data) >= parallelScanMin && runtime.GOMAXPROCS(0) > 1 && indent != "crlf"); len(ir.parts) != parts {
				t.Fatalf("%d rules: readImport read %d parts, want %d", n, len(ir.parts), parts)
			}
			if n >= 300 {
				copied, formatted := 0, 0
				for _, p := range ir.parts {
					for _, a := range p.addrs {
						if a.ref == 0 {
							formatted++
						} else {
							copied++
						}
					}
					formatted += len(p.other)
					copied += len(p.subnets) + len(p.ranges) - len(p.other)
				}
				if copied < n/4 || formatted < n/20 {
					t.Fatalf("%d rules: %d copied, %d formatted", n, copied, formatted)
				}
			}
			wantPath := filepath.Join(dir, fmt.Sprintf("want%d", i))
			os.Remove(wantPath)
			want := importByUpdate(t, wantPath, data, false)
			path := filepath.Join(dir, fmt.Sprintf("got%d", i))
			os.Remove(path)
			done, err := Import(path, data, false)
			if err != nil || !done {
				t.Fatalf("%d rules: Import: %v, %v", n, done, err)
			}
			got, _ := os.ReadFile(path)
			if !bytes.Equal(got, want) {
				t.Fatalf("%d rules: Import wrote\n%.2000s\nwant\n%.2000s", n, got, want)
			}
			// Replacing: what there was makes no difference.
			other := importData(r, n/2+1, "  ")
			if err := os.WriteFile(path, other, 0o644); err != nil {
				t.Fatal(err)
			}
			if done, err := Import(path, data, true); err != nil || !done {
				t.Fatalf("%d rules: Import --replace: %v, %v", n, done, err)
			}
			if got, _ := os.ReadFile(path); !bytes.Equal(got, want) {
				t.Fatalf("%d rules: Import replacing wrote\n%.2000s\nwant\n%.2000s", n, got, want)
			}
		}
	}
}

// TestImportLeavesToUpdate checks what Import does not do: data that is
// not plainly a rule file, and an import that adds to rules there are.
func TestImportLeavesToUpdate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rules.json")
	big := importData(rand.New(rand.NewPCG(3, 4)), 30000, "  ")
	for _, data := range []string{
		``, `[]`, `[ ]`, `{}`, `["Address: IPv4 1.2.3.4"`, `["Address: IPv4 1.2.3.4",]`,
		`["Address: IPv4 1.2.3.4"] x`, `["Address: IPv4 1.2.3.256"]`, `["Address: IPv6 fe80::1%eth0"]`,
		`["Address: IPv4 1.2.3.\u0034"]`, `["1.2.3.4"]`, `["Address: IPv4 1.2.3.4" "Address: IPv4 1.2.3.5"]`,
		string(big[:len(big)-3]), // no end
		string(big[:len(big)/2]) + "\"x\",\n" + string(big[len(big)/2:]), // a bad rule in the middle
		string(big[:len(big)-3]) + ",\n]",                                // a comma too many
	} {
		done, err := Import(path, []byte(data), false)
		if done || err != nil {
			t.Fatalf("Import(%.80q) = %v, %v; want false, nil", data, done, err)
		}
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("Import(%.80q) wrote the rule file", data)
		}
	}
	if err := os.WriteFile(path, []byte(`["Address: IPv4 9.9.9.9"]`), 0o644); err != nil {
		t.Fatal(err)
	}
	if done, err := Import(path, big, false); done || err != nil {
		t.Fatalf("Import to a file with rules = %v, %v; want false, nil", done, err)
	}
}

// TestImportAddsToRulesThatCame: rules that come between Import's look at
// the rule file and its lock are added to, as Update does.
func TestImportAddsToRulesThatCame(t *testing.T) {
	defer func(old int64) { importEmptyMax = old }(importEmptyMax)
	importEmptyMax = 1 << 20 // as if the file had been empty when looked at
	dir := t.TempDir()
	data := importData(rand.New(rand.NewPCG(5, 6)), 3000, "  ")
	old := FormatRules([]string{"Address: IPv4 9.9.9.9", "Subnet: IPv4 10.0.0.0/8"})
	want := filepath.Join(dir, "want")
	os.WriteFile(want, old, 0o644)
	path := filepath.Join(dir, "got")
	os.WriteFile(path, old, 0o644)
	if done, err := Import(path, data, false); !done || err != nil {
		t.Fatalf("Import = %v, %v", done, err)
	}
	got, _ := os.ReadFile(path)
	if w := importByUpdate(t, want, data, false); !bytes.Equal(got, w) {
		t.Fatalf("Import wrote\n%.1000s\nwant\n%.1000s", got, w)
	}
}

// TestImportReplacesOnlyARuleFile: replacing checks the rules there were,
// as Update does, and leaves a file that is not a rule file as it was.
func TestImportReplacesOnlyARuleFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rules.json")
	data := importData(rand.New(rand.NewPCG(7, 8)), 2000, "  ")
	for _, tc := range []struct{ old, err string }{
		{"[\n  \"Address: IPv4 10.0.0.1\",\n  \"Address: IPv4 10.0.0.256\"\n]\n", "rules.json:3:3: ERR_INVALID_ADDRESS"},
		{"[\n  \"Address: IPv4 10.0.0.1\",\n", "rules.json:3:1: unexpected end of JSON"},
		{string(importData(rand.New(rand.NewPCG(1, 1)), 40000, "  ")) + "x", "want the end of the file after the array"},
	} {
		if err := os.WriteFile(path, []byte(tc.old), 0o600); err != nil {
			t.Fatal(err)
		}
		done, err := Import(path, data, true)
		if !done || err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Fatalf("Import over %.60q = %v, %v; want an error with %q", tc.old, done, err, tc.err)
		}
		var fe *FileError
		if !errors.As(err, &fe) || fe.Path != path {
			t.Fatalf("error %v does not name %s", err, path)
		}
		if got, _ := os.ReadFile(path); string(got) != tc.old {
			t.Fatal("the rule file was written over")
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 2 { // and its lock
			t.Fatalf("left %d files", len(entries))
		}
	}
	// A folder is not replaced either.
	os.Remove(path)
	os.Mkdir(path, 0o755)
	if done, err := Import(path, data, true); !done || !errors.Is(err, ErrNotRegular) {
		t.Fatalf("Import over a folder = %v, %v", done, err)
	}
}

// TestImportTooLarge: rules that would make the rule file too large are
// refused as Update refuses them, and nothing is written.
func TestImportTooLarge(t *testing.T) {
	defer func(old int64) { maxFileSize = old }(maxFileSize)
	dir := t.TempDir()
	data := importData(rand.New(rand.NewPCG(9, 9)), 5000, "  ")
	want := importByUpdate(t, filepath.Join(dir, "want"), data, false)
	maxFileSize = int64(len(want) - 1)
	path := filepath.Join(dir, "rules.json")
	done, err := Import(path, data, false)
	if !done || !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), fmt.Sprintf("the rules would take %d bytes", len(want))) {
		t.Fatalf("Import = %v, %v", done, err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("the rule file was written")
	}
	maxFileSize = int64(len(want))
	if done, err := Import(path, data, false); !done || err != nil {
		t.Fatalf("Import at the limit = %v, %v", done, err)
	}
}

// TestCheckChunks compares checkChunks with scanSpans, which reads a rule
// file whole: a file it takes is valid; a valid rule file cut into lines
// as written here is taken; and a byte changed anywhere in it, which
// makes it invalid, is seen, in any chunk.
func TestCheckChunks(t *testing.T) {
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(11, 12))
	check := func(data []byte) (chunks, whole bool) {
		path := filepath.Join(dir, "rules.json")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		var sp spans
		return checkChunks(f), scanSpans(data, &sp) == nil
	}
	for _, n := range []int{0, 1, 2, 100, 9000, 30000} {
		data := []byte("[]\n")
		if n > 0 {
			data = importData(r, n, "  ")
		}
		if chunks, whole := check(data); !chunks || !whole {
			t.Fatalf("%d rules: checkChunks %v, scanSpans %v; want both true", n, chunks, whole)
		}
		if n < 100 {
			continue
		}
		for range 40 {
			bad := bytes.Clone(data)
			i := r.IntN(len(bad))
			bad[i] = "x\",[] 9:\n"[r.IntN(9)]
			chunks, whole := check(bad)
			if chunks && !whole {
				t.Fatalf("%d rules, byte %d changed to %q: checkChunks takes what scanSpans refuses", n, i, bad[i])
			}
		}
	}
	// One line, nowhere to cut it: not taken, and so read whole.
	line := bytes.ReplaceAll(importData(r, 20000, ""), []byte(",\n"), []byte(","))
	if chunks, whole := check(line); chunks || !whole {
		t.Fatalf("one line: checkChunks %v, scanSpans %v", chunks, whole)
	}
	// Cuts far apart, with space between: not taken either.
	spaced := []byte("[\n  \"Address: IPv4 1.2.3.4\",\n" + strings.Repeat(" ", 300<<10) + "\"Address: IPv4 1.2.3.5\",\n" +
		strings.Repeat(" ", 300<<10) + "\"Address: IPv4 1.2.3.6\"\n]\n")
	if chunks, whole := check(spaced); chunks || !whole {
		t.Fatalf("cuts far apart: checkChunks %v, scanSpans %v", chunks, whole)
	}
	// Empty.
	if chunks, whole := check(nil); !chunks || !whole {
		t.Fatalf("empty: checkChunks %v, scanSpans %v", chunks, whole)
	}
}

// TestBulkOrder: keys added to a bulkOrder a group at a time, with room
// for fewer than come (and so growing), are listed as Node's table lists
// them once the keys are added to it one at a time.
func TestBulkOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for _, n := range []int{300, 5000, 60000} {
		keys, vals := tableKeys(n)
		want := newAddrTable()
		for _, e := range keys {
			v := vals[e.slot]
			want.insert(ip{hi: v.hi, lo: v.lo, v4: e.v4}, e.h, e.slot)
		}
		wantOrder := want.order(nil, len(vals))
		for _, room := range []int{1, len(keys) / 3, len(keys)} {
			o := newBulkOrder(room)
			for done := 0; done < len(keys); {
				m := min(1+r.IntN(len(keys)/4+1), len(keys)-done)
				if r.IntN(3) == 0 {
					m = min(1+r.IntN(3), len(keys)-done) // a few at a time too
				}
				o.add(keys[done : done+m])
				done += m
			}
			if got := o.slots(len(vals)); !slices.Equal(got, wantOrder) {
				t.Fatalf("%d keys, room for %d: another order", len(keys), room)
			}
			if o.size != uint64(len(want.buckets)) || o.count != uint64(want.count) || o.nextResize != want.nextResize {
				t.Fatalf("%d keys, room for %d: size %d, count %d, next resize %d; want %d, %d, %d", len(keys), room,
					o.size, o.count, o.nextResize, len(want.buckets), want.count, want.nextResize)
			}
			// listOrder takes the keys o has, and adds the others.
			o = newBulkOrder(room)
			o.add(keys[:len(keys)/2])
			if got := listOrder(keys, vals, o); !slices.Equal(got, wantOrder) {
				t.Fatalf("%d keys, room for %d: listOrder after half of them: another order", len(keys), room)
			}
		}
		if got := listOrder(keys, vals, nil); !slices.Equal(got, wantOrder) {
			t.Fatalf("%d keys: listOrder: another order", len(keys))
		}
	}
}
