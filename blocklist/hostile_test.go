package blocklist

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestLoadFileNotRegular checks that what is not a regular file is
// refused, saying what it is, without being read.
func TestLoadFileNotRegular(t *testing.T) {
	dir := t.TempDir()
	cases := []struct{ name, path, what string }{
		{"directory", dir, "a directory"},
	}
	if fi, err := os.Stat(os.DevNull); err == nil && fi.Mode()&fs.ModeCharDevice != 0 {
		cases = append(cases, struct{ name, path, what string }{"null device", os.DevNull, "a character device"})
	}
	if _, err := os.Stat("/dev/zero"); err == nil {
		// Read, it never ends: a test that fails runs out of memory.
		cases = append(cases, struct{ name, path, what string }{"zero device", "/dev/zero", "a character device"})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := LoadFile(c.path)
			if !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), c.what) {
				t.Fatalf("LoadFile(%s) = %v, want %v naming %s", c.path, err, ErrNotRegular, c.what)
			}
			var fe *FileError
			if !errors.As(err, &fe) || fe.Path != c.path {
				t.Fatalf("LoadFile(%s): %#v, want a *FileError naming the file", c.path, err)
			}
		})
	}
}

// TestLoadFileTooLarge checks that a file over the limit is refused from
// its size, and one that grows past it while read is cut.
func TestLoadFileTooLarge(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.json")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	// A sparse file: no disk, no time.
	if err := f.Truncate(MaxFileSize + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := LoadFile(path); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "6 MiB") {
		t.Fatalf("LoadFile of %d bytes = %v, want %v naming the limit", MaxFileSize+1, err, ErrTooLarge)
	}
	if err := os.Truncate(path, MaxFileSize); err != nil {
		t.Fatal(err)
	}
	// At the limit it is read (and is not a rule file: zero bytes).
	if _, err := LoadFile(path); err == nil || errors.Is(err, ErrTooLarge) {
		t.Fatalf("LoadFile of %d bytes = %v, want a parse error", MaxFileSize, err)
	}
}

// TestWriteTooLarge checks that rules that would make a file over the
// limit are refused, and the file is left as it was.
func TestWriteTooLarge(t *testing.T) {
	defer func(n int64) { maxFileSize = n }(maxFileSize)
	maxFileSize = 100
	path := filepath.Join(t.TempDir(), "rules.json")
	if err := Update(path, func(b *BlockList) error { return b.AddAddress("10.0.0.1", IPv4) }); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	err := Update(path, func(b *BlockList) error {
		for _, a := range []string{"10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"} {
			if err := b.AddAddress(a, IPv4); err != nil {
				return err
			}
		}
		return nil
	})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Update past the limit = %v, want %v", err, ErrTooLarge)
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Fatalf("the file changed: %q, was %q", after, before)
	}
}

// TestUpdateFollowsSymlink checks that a rule file given as a link is
// changed where the link points, under the target's lock, and that the
// link stays a link, also when its target does not exist yet.
func TestUpdateFollowsSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target.json")
	link := filepath.Join(dir, "link.json")
	if err := os.Symlink("target.json", link); err != nil {
		t.Skipf("no symbolic links here: %v", err)
	}
	add := func(path, a string) {
		t.Helper()
		if err := Update(path, func(b *BlockList) error { return b.AddAddress(a, IPv4) }); err != nil {
			t.Fatal(err)
		}
	}
	add(link, "10.0.0.1") // a dangling link: the target is made
	add(target, "10.0.0.2")
	add(link, "10.0.0.3")
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Fatalf("link.json is no longer a link: %v, %v", fi, err)
	}
	b, err := LoadFile(target)
	if err != nil {
		t.Fatal(err)
	}
	got := b.Rules()
	for _, want := range []string{"Address: IPv4 10.0.0.1", "Address: IPv4 10.0.0.2", "Address: IPv4 10.0.0.3"} {
		if len(got) != 3 || !slices.Contains(got, want) {
			t.Fatalf("target.json holds %q, want the three rules", got)
		}
	}
	if _, err := os.Lstat(link + ".lock"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("link.json.lock exists (%v): the link and the target must share target.json.lock", err)
	}
}

// TestBatchParsesAsParseRule checks that a Batch reads every rule string
// as ParseRuleFamily does, its quick path for Node's own rule strings
// included, and adds them as Add does, in order.
func TestBatchParsesAsParseRule(t *testing.T) {
	src := randomList(t, 3000, 11)
	inputs := src.Rules()
	for _, r := range src.Rules() {
		_, body, _ := strings.Cut(r, ": IPv")
		inputs = append(inputs, body[2:]) // the bare address, range or subnet
	}
	inputs = append(inputs, "Address: IPv4 1.2.3.4 ", "Address: IPv4 01.2.3.4", "Subnet: IPv4 1.2.3.4/033",
		"Range: IPv4 1.2.3.5-1.2.3.4", "Address: IPv6 ::ffff:1.2.3.4", "Address:  IPv4 1.2.3.4", "1.2.3.4")
	for _, family := range []string{"", IPv4, IPv6} {
		var bt Batch
		want := New()
		for _, s := range inputs {
			r, werr := ParseRuleFamily(s, family)
			gerr := bt.ParseRule([]byte(s), family)
			if (werr == nil) != (gerr == nil) || werr != nil && werr.Error() != gerr.Error() {
				t.Fatalf("%q (family %q): Batch %v, ParseRuleFamily %v", s, family, gerr, werr)
			}
			if werr == nil {
				want.Add(r) //nolint:errcheck // parsed
			}
		}
		got := New()
		got.AddBatch(&bt)
		if !slices.Equal(got.Rules(), want.Rules()) {
			t.Fatalf("family %q: the batch lists %d rules, Add %d, or another order", family, got.Size(), want.Size())
		}
	}
}
