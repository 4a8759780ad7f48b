package netcore

import (
	"bytes"
	"strings"
	"testing"
)

// linesReference answers each line of in with IsIP, as AppendIsIPLines
// must: a "\r" before a "\n" is not in the line, and bytes after the last
// "\n" are a line.
func linesReference(in []byte) ([]byte, bool) {
	var out []byte
	all := true
	for len(in) > 0 {
		line := in
		if i := bytes.IndexByte(in, '\n'); i >= 0 {
			line = bytes.TrimSuffix(in[:i], []byte("\r"))
			in = in[i+1:]
		} else {
			in = nil
		}
		ip := IsIPBytes(line)
		all = all && ip != 0
		out = append(out, byte('0'+ip), '\n')
	}
	return out, all
}

func checkLines(t *testing.T, in []byte) {
	t.Helper()
	want, wantAll := linesReference(in)
	dst := []byte("kept")
	got, all := AppendIsIPLines(dst, in)
	if !bytes.HasPrefix(got, []byte("kept")) {
		t.Fatalf("dst's bytes were not kept: %q", got[:min(len(got), 4)])
	}
	got = got[4:]
	if !bytes.Equal(got, want) || all != wantAll {
		for i := 0; i < min(len(got), len(want)); i += 2 {
			if got[i] != want[i] {
				line := strings.Split(string(in), "\n")[i/2]
				t.Fatalf("line %d %q: got %q, want %q", i/2+1, line, got[i], want[i])
			}
		}
		t.Fatalf("input %q:\ngot  %q (all %v)\nwant %q (all %v)", in, got, all, want, wantAll)
	}
}

// TestAppendIsIPLines checks the automaton against IsIP (which the
// differential tests hold to Node) on the seeded corpus biased to the
// edges and Node's own lists, in every length of batch up to a few
// hundred lines (the parts read at once then have every relative length),
// with "\n" and "\r\n" line ends, empty lines and stray "\r"s.
func TestAppendIsIPLines(t *testing.T) {
	t.Run("dfaSteps", testAppendIsIPLines)
	// The portable loop, which other machines run.
	dfaPortable = true
	defer func() { dfaPortable = false }()
	t.Run("dfaStepsGo", testAppendIsIPLines)
}

func testAppendIsIPLines(t *testing.T) {
	corpus := ipCorpus(30000, 7)
	for _, list := range [][]string{nodeV4, nodeV4Not, nodeV6, nodeV6Not} {
		corpus = append(corpus, list...)
	}
	var lines [][]byte
	for i, s := range corpus {
		for _, l := range strings.Split(s, "\n") { // a string with "\n" is several lines
			end := []string{"\n", "\n", "\r\n", "\r\r\n", "\n\n", "\r"}[i%6]
			if end == "\r" {
				end = "\r" + l + "\n" // a "\r" before more of the line
			}
			lines = append(lines, []byte(l+end))
		}
	}
	whole := bytes.Join(lines, nil)
	checkLines(t, whole)
	for n := 0; n <= 400; n++ {
		checkLines(t, bytes.Join(lines[n:2*n], nil))
	}
	for _, in := range []string{"", "\n", "\n\n\n", "\r\n", "\r\r\n", "1.2.3.4\r\n", "::1\n\n::1\r\n", "1.2.3.4\n::\nfe80::1%eth0\n", "1.2.3.4\r\r\n", "\r1.2.3.4\n", "fe80::1%\r\n", "1.2.3.4", "::1\n1.2.3.4\r", "::1\r\n::1", "\r", "x\n\r"} {
		checkLines(t, []byte(in))
	}
	// One long line and short ones, so that one part is all of it.
	checkLines(t, []byte("fe80::1%"+strings.Repeat("eth0.", 1000)+"\n::1\n1.2.3.4\n\n"))
	checkLines(t, []byte("1.1.1.1\n2.2.2.2\nfe80::1%"+strings.Repeat("a", 5000)+"\n"))
	// Lines across the blocks answered one after the other: a "\n" just
	// before, at and after a block's end, and a line longer than a block.
	for _, d := range []int{-2, -1, 0, 1, 2} {
		pad := []byte(strings.Repeat("1.2.3.4\n", (dfaBlock+d)/8) + strings.Repeat("x", (dfaBlock+d)%8))
		checkLines(t, append(pad, "\n::1\r\nfe80::1%eth0\n1.2.3.4\n"...))
	}
	checkLines(t, []byte("::1\nfe80::1%"+strings.Repeat("eth0.", dfaBlock/2)+"\n1.2.3.4\n"+strings.Repeat("x", 3*dfaBlock)+"\n::\n"))
	// all is true only when every line is an address.
	if _, all := AppendIsIPLines(nil, []byte("1.2.3.4\n::1\r\nfe80::1%eth0\n")); !all {
		t.Error("all addresses: all is false")
	}
	if _, all := AppendIsIPLines(nil, []byte("1.2.3.4\n::1\r\n\n")); all {
		t.Error("an empty line: all is true")
	}
}

// FuzzAppendIsIPLines checks the automaton against IsIP on any bytes.
func FuzzAppendIsIPLines(f *testing.F) {
	for _, s := range ipCorpus(200, 9) {
		f.Add([]byte(s + "\n" + s + "\r\n"))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		checkLines(t, in)
	})
}

func BenchmarkAppendIsIPLines(b *testing.B) {
	var in []byte
	for _, s := range ipCorpus(100000, 3) {
		in = append(in, strings.ReplaceAll(s, "\n", "")...)
		in = append(in, '\n')
	}
	out := make([]byte, 0, 2*len(in))
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		out, _ = AppendIsIPLines(out[:0], in)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/100000, "ns/line")
}

// TestAppendIsIPLinesAllocs checks that answering allocates nothing when
// dst has room for the answers.
func TestAppendIsIPLinesAllocs(t *testing.T) {
	in := []byte(strings.Repeat("192.168.1.1\n2001:db8::1\r\nnope\n\n", 1000))
	out := make([]byte, 0, 2*len(in))
	if n := testing.AllocsPerRun(10, func() { out, _ = AppendIsIPLines(out[:0], in) }); n != 0 {
		t.Errorf("%v allocations", n)
	}
}
