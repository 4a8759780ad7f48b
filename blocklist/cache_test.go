package blocklist

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// cacheTestFile writes the rule file of n bench rules and returns its
// path, its list (as LoadFile reads it) and addresses to check.
func cacheTestFile(t *testing.T, n int) (string, *BlockList, []string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rules.json")
	must(t, os.WriteFile(path, benchFile(t, n), 0o644))
	b, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, b, benchAddrs(4000, benchRules(n, uint64(n)))
}

// sameAnswers checks that ix answers every address as b does.
func sameAnswers(t *testing.T, what string, ix *Index, b *BlockList, addrs []string) {
	t.Helper()
	for _, a := range addrs {
		fam := familyOfTest(a)
		want, werr := b.CheckBytes([]byte(a), fam)
		got, gerr := ix.CheckBytes([]byte(a), fam)
		if got != want || (gerr == nil) != (werr == nil) {
			t.Fatalf("%s: check(%s) = %v, %v; want %v, %v", what, a, got, gerr, want, werr)
		}
	}
}

// TestLoadIndexCache: the first load of a rule file parses it and writes
// its cache entry; the next reads the entry (shown by an entry made to
// answer otherwise, with the file's key, which is believed); answers are
// LoadFile's either way, and with no cache at all.
func TestLoadIndexCache(t *testing.T) {
	path, b, addrs := cacheTestFile(t, 20000)
	dir := filepath.Join(t.TempDir(), "cache")
	for _, cache := range []string{"", dir, dir} {
		ix, err := LoadIndex(path, cache)
		if err != nil {
			t.Fatal(err)
		}
		sameAnswers(t, "cache "+cache, ix, b, addrs)
	}
	entry := cacheEntryPath(dir, path)
	if _, err := os.Stat(entry); err != nil {
		t.Fatalf("no cache entry: %v", err)
	}
	// An entry for the same contents that blocks nothing: it is what the
	// next load answers from.
	data, _ := os.ReadFile(path)
	writeCacheEntry(dir, entry, cacheEntry{key: contentKey(data), x: emptyIndex()})
	ix, err := LoadIndex(path, dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if got, _ := ix.CheckBytes([]byte(a), familyOfTest(a)); got {
			t.Fatalf("%s is blocked: the load did not answer from the cache entry", a)
		}
	}
}

// TestLoadIndexStale: an entry is used for the very contents it was made
// from and nothing else: after the file changes (same size, one digit),
// after the entry is damaged (a byte changed, cut short, emptied,
// replaced by one whose intervals are out of order), the file is parsed
// again and the entry rewritten.
func TestLoadIndexStale(t *testing.T) {
	path, _, addrs := cacheTestFile(t, 3000)
	dir := filepath.Join(t.TempDir(), "cache")
	entry := cacheEntryPath(dir, path)
	load := func(what string) {
		t.Helper()
		ix, err := LoadIndex(path, dir)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		b, err := LoadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		sameAnswers(t, what, ix, b, addrs)
	}
	load("first")
	good, err := os.ReadFile(entry)
	if err != nil {
		t.Fatal(err)
	}

	// The same size, other rules: an IPv4 subnet's prefix changed from
	// /2d to /2e (both in 20..29).
	data, _ := os.ReadFile(path)
	i := bytes.Index(data, []byte("/2"))
	if i < 0 || data[i+2] < '0' || data[i+2] > '9' {
		t.Fatal("no subnet of prefix 20 to 29")
	}
	data[i+2] = '0' + (data[i+2]-'0'+5)%10
	must(t, os.WriteFile(path, data, 0o644))
	load("changed file")
	now, _ := os.ReadFile(entry)
	if bytes.Equal(now, good) {
		t.Error("the entry was not rewritten for the changed file")
	}
	good = now

	damage := map[string]func([]byte) []byte{
		"a byte changed": func(b []byte) []byte { b[len(b)/2] ^= 1; return b },
		"cut short":      func(b []byte) []byte { return b[:len(b)-9] },
		"empty":          func([]byte) []byte { return nil },
		"intervals out of order": func([]byte) []byte {
			// Well formed, checksums right, intervals not sorted.
			x := &index{v4: []uint64{span4(10, 20), span4(1, 2)}}
			writeCacheEntry(dir, entry, cacheEntry{key: contentKey(data), x: x})
			b, _ := os.ReadFile(entry)
			return b
		},
	}
	for what, f := range damage {
		cur, err := os.ReadFile(entry)
		if err != nil {
			t.Fatal(err)
		}
		must(t, os.WriteFile(entry, f(cur), 0o600))
		load(what)
		if now, _ := os.ReadFile(entry); !bytes.Equal(now, good) {
			t.Errorf("%s: the entry (%d bytes) was not rewritten", what, len(now))
		}
	}
}

// TestLoadIndexCacheUnusable: a cache directory that cannot be made (a
// file stands in its way) costs nothing but the cache; errors are
// LoadFile's, named after the rule file.
func TestLoadIndexCacheUnusable(t *testing.T) {
	path, b, addrs := cacheTestFile(t, 500)
	blocker := filepath.Join(t.TempDir(), "file")
	must(t, os.WriteFile(blocker, nil, 0o644))
	ix, err := LoadIndex(path, filepath.Join(blocker, "cache"))
	if err != nil {
		t.Fatal(err)
	}
	sameAnswers(t, "unusable cache", ix, b, addrs)

	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	must(t, os.WriteFile(bad, []byte("[\n \"Address: IPv4 1.2.3.4\",\n \"Subnet: IPv4 1.2.3.4/40\"\n]\n"), 0o644))
	for _, cache := range []string{"", filepath.Join(dir, "cache")} {
		_, err := LoadIndex(bad, cache)
		_, want := LoadFile(bad)
		if err == nil || err.Error() != want.Error() {
			t.Errorf("cache %q: %v; want %v", cache, err, want)
		}
		_, err = LoadIndex(filepath.Join(dir, "missing.json"), cache)
		if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "missing.json") {
			t.Errorf("cache %q, a missing file: %v", cache, err)
		}
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "cache")); len(ents) != 0 {
		t.Errorf("a rule file that does not parse left cache entries: %v", ents)
	}
}

// TestLoadIndexStamp: an entry whose stamp is the file's, recorded well
// before the entry was written, is used without reading the file (shown
// by an entry whose checksums are wrong, which is believed); a change to
// the file changes its stamp; and a stamp recorded within the racy margin
// of the entry's writing is not believed: the checksums decide.
func TestLoadIndexStamp(t *testing.T) {
	if fileStampOf(os.Stdin) == (fileStamp{}) {
		t.Skip("this system gives no file stamp: the checksums alone decide")
	}
	margin := cacheRacyMargin
	t.Cleanup(func() { cacheRacyMargin = margin })
	cacheRacyMargin = 0
	path, _, addrs := cacheTestFile(t, 2000)
	dir := filepath.Join(t.TempDir(), "cache")
	entry := cacheEntryPath(dir, path)
	time.Sleep(20 * time.Millisecond) // the entry comes a clock tick after the file
	if _, err := LoadIndex(path, dir); err != nil {
		t.Fatal(err)
	}
	e := readCacheEntry(entry)
	if e.x == nil || e.stamp == (fileStamp{}) {
		t.Fatalf("the entry holds no stamp: %+v", e.stamp)
	}
	plant := func(stamp fileStamp) {
		t.Helper()
		wrong := cacheKey{size: e.key.size, ieee: ^e.key.ieee, castagnoli: ^e.key.castagnoli}
		time.Sleep(20 * time.Millisecond)
		writeCacheEntry(dir, entry, cacheEntry{key: wrong, stamp: stamp, x: emptyIndex()})
	}
	blocksNothing := func(ix *Index) bool {
		for _, a := range addrs {
			if got, _ := ix.CheckBytes([]byte(a), familyOfTest(a)); got {
				return false
			}
		}
		return true
	}
	plant(e.stamp)
	ix, err := LoadIndex(path, dir)
	if err != nil {
		t.Fatal(err)
	}
	if !blocksNothing(ix) {
		t.Fatal("an entry with the file's stamp was not used without the checksums")
	}

	// The same size, other contents: another stamp.
	data, _ := os.ReadFile(path)
	i := bytes.Index(data, []byte("/2"))
	data[i+2] = '0' + (data[i+2]-'0'+5)%10
	must(t, os.WriteFile(path, data, 0o644))
	check := func(what string) {
		t.Helper()
		ix, err := LoadIndex(path, dir)
		if err != nil {
			t.Fatal(err)
		}
		b, err := LoadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		sameAnswers(t, what, ix, b, addrs)
	}
	check("changed file, old stamp")

	// A stamp within the margin of the entry's writing: not believed.
	cacheRacyMargin = time.Hour
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	now := fileStampOf(f)
	f.Close()
	plant(now)
	check("racy stamp")
}
