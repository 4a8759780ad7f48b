package netcore

import (
	"bytes"
	"encoding/binary"
	"slices"
	"unsafe"
)

//go:generate go test -run ^TestIsIPLinesTable$ -update

// AppendIsIPLines answers many inputs at once: for each line of lines it
// appends IsIP's answer for the line ("4", "6" or "0") and a "\n" to dst,
// and it reports whether every line is an IP address. A "\r" before a
// line's "\n" is not part of the line. Bytes after the last "\n" are a
// line too (a "\r" at their end is part of it: it is before no "\n").
//
// It answers exactly as IsIP does, by another method, made for batches:
// a deterministic automaton, made from Node's two regular expressions
// (isip_lines_table.go, generated), reads the lines a byte at a time with
// no branch on what it reads, and four parts of the lines are read at
// once, interleaved, so that the table look-ups of one overlap those of
// the others.
func AppendIsIPLines(dst, lines []byte) ([]byte, bool) {
	all := true
	var last []byte // after the last "\n"
	if i := bytes.LastIndexByte(lines, '\n'); i < len(lines)-1 {
		lines, last = lines[:i+1], lines[i+1:]
	}
	for len(lines) > 0 {
		// Blocks of lines of about dfaBlock bytes: the room their
		// answers need (below) stays small, and in the cache.
		n := len(lines)
		if n > dfaBlock {
			n = dfaBlock + bytes.IndexByte(lines[dfaBlock:], '\n') + 1
		}
		var ok bool
		dst, ok = appendIsIPBlock(dst, lines[:n])
		all = all && ok
		lines = lines[n:]
	}
	if last != nil {
		ip := IsIPBytes(last)
		dst = append(dst, byte('0'+ip), '\n')
		all = all && ip != 0
	}
	return dst, all
}

// dfaBlock is the size of the blocks that AppendIsIPLines answers one
// after the other.
const dfaBlock = 64 << 10

// appendIsIPBlock is AppendIsIPLines for lines that are not empty.
func appendIsIPBlock(dst, lines []byte) ([]byte, bool) {
	// Each line is at least one byte and answers with two: the answers of
	// a part starting at byte i of lines are written from 2*i on, where
	// those of the parts before it cannot reach.
	n := len(dst)
	dst = slices.Grow(dst, 2*len(lines))[:n+2*len(lines)]
	out := dst[n:]
	var part [dfaWays + 1]int
	for k := 1; k < dfaWays; k++ {
		i := max(len(lines)*k/dfaWays, part[k-1])
		if i > 0 { // the part starts after a "\n"
			i += bytes.IndexByte(lines[i-1:], '\n') // lines ends with one
		}
		part[k] = i
	}
	part[dfaWays] = len(lines)
	var got [dfaWays]int
	runLineDFA(lines, out, &part, &got)
	end := got[0]
	for k := 1; k < dfaWays; k++ {
		end += copy(out[end:], out[2*part[k]:2*part[k]+got[k]])
	}
	// Answers are at even places and "\n"s at odd ones.
	all := bytes.IndexByte(out[:end], '0') < 0
	return dst[:n+end], all
}

// dfaWays is how many parts of the lines are read at once: four, whose
// positions and states fill the registers of an amd64.
const dfaWays = 4

// The automaton (built by buildLineDFA, in isip_lines_build_test.go, and
// written out to isip_lines_table.go) reads a byte's class, and goes from
// the state whose row offset (its number times dfaClasses) is s to the
// state whose row offset is next[s+class]. The three states after a "\n"
// are numbered 0 to 2, for the answers 0, 4 and 6 of the line it ends:
// they write the answer and "\n", and move the write position on by two
// (out). The start state is 3.
const (
	dfaClasses = 16
	stateNL    = 0
	stateStart = 3
	stateDead  = 4 // no address: waiting for the end of the line
	stateCR    = 5 // stateCR+a: after a "\r" that ends a line answered a if a "\n" follows
	dfaFixed   = stateCR + 3
)

// lineTables are the automaton's tables, together, so that one register
// holds them in isip_lines_amd64.s.
type lineTables struct {
	next  [dfaSize]uint16
	out   [dfaSize / 4]uint32 // by row offset / 4: what the state writes, and 2<<16 if it does
	class [256]uint8
}

// dfaSize is the room for the automaton's rows, a power of two.
const dfaSize = 1 << 12

func init() {
	for a, c := range []byte("046") {
		s := (stateNL + a) * dfaClasses
		dfa.out[s/4] = uint32(binary.NativeEndian.Uint16([]byte{c, '\n'})) | 2<<16
	}
}

// runLineDFA reads lines[part[k]:part[k+1]] for each k at once, writing
// the answers of part k from out[2*part[k]:], and sets got[k] to their
// length.
//
// Every step writes two bytes at the part's write position, which moves
// on only after a "\n": a part of l bytes never writes past 2*l bytes, and
// a write that is not an answer is overwritten by the next one. Every
// entry of dfa.next is a row offset within it (TestIsIPLinesTable checks
// that), so the look-ups stay in the table.
func runLineDFA(lines, out []byte, part *[dfaWays + 1]int, got *[dfaWays]int) {
	m := len(lines) // the length of the shortest part
	c := dfaCursor{in: unsafe.Pointer(unsafe.SliceData(lines)), out: unsafe.Pointer(unsafe.SliceData(out))}
	for k := range dfaWays {
		m = min(m, part[k+1]-part[k])
		c.p[k] = part[k]
		c.q[k] = 2 * part[k]
		c.s[k] = stateStart * dfaClasses
	}
	// All parts together for the length of the shortest, then the rest of
	// each alone.
	if m >= 2 && !dfaPortable {
		dfaSteps(&c, m&^1)
	} else if m >= 2 {
		dfaStepsGo(&c, m&^1)
	}
	for k := range dfaWays {
		got[k] = lineDFATail(&c, k, part[k+1]) - 2*part[k]
	}
}

// dfaCursor is where each part is: the index of its next byte in the
// lines at in, of its next answer in the buffer at out, and its state's
// row offset. isip_lines_amd64.s knows its layout (go_asm.h).
type dfaCursor struct {
	in, out unsafe.Pointer
	p, q    [dfaWays]int
	s       [dfaWays]uint
}

// dfaPortable has dfaStepsGo run instead of dfaSteps, in tests. (A
// variable holding either would move the cursor to the heap.)
var dfaPortable = false

// dfaStepsGo takes n steps (even, not 0) in every part at once:
// dfaSteps where there is no assembly for it.
func dfaStepsGo(c *dfaCursor, n int) {
	t := &dfa
	in, o := c.in, c.out
	p0, p1, p2, p3 := c.p[0], c.p[1], c.p[2], c.p[3]
	q0, q1, q2, q3 := c.q[0], c.q[1], c.q[2], c.q[3]
	s0, s1, s2, s3 := c.s[0], c.s[1], c.s[2], c.s[3]
	for i := 0; i < n; i++ {
		s0 = uint(t.next[(s0+uint(t.class[*(*byte)(unsafe.Add(in, p0+i))]))&(dfaSize-1)])
		w0 := t.out[s0/4%(dfaSize/4)]
		*(*uint16)(unsafe.Add(o, q0)) = uint16(w0)
		q0 += int(w0 >> 16)
		s1 = uint(t.next[(s1+uint(t.class[*(*byte)(unsafe.Add(in, p1+i))]))&(dfaSize-1)])
		w1 := t.out[s1/4%(dfaSize/4)]
		*(*uint16)(unsafe.Add(o, q1)) = uint16(w1)
		q1 += int(w1 >> 16)
		s2 = uint(t.next[(s2+uint(t.class[*(*byte)(unsafe.Add(in, p2+i))]))&(dfaSize-1)])
		w2 := t.out[s2/4%(dfaSize/4)]
		*(*uint16)(unsafe.Add(o, q2)) = uint16(w2)
		q2 += int(w2 >> 16)
		s3 = uint(t.next[(s3+uint(t.class[*(*byte)(unsafe.Add(in, p3+i))]))&(dfaSize-1)])
		w3 := t.out[s3/4%(dfaSize/4)]
		*(*uint16)(unsafe.Add(o, q3)) = uint16(w3)
		q3 += int(w3 >> 16)
	}
	c.p = [dfaWays]int{p0 + n, p1 + n, p2 + n, p3 + n}
	c.q = [dfaWays]int{q0, q1, q2, q3}
	c.s = [dfaWays]uint{s0, s1, s2, s3}
}

// lineDFATail takes part k alone to the byte before e, and returns where
// its answers end.
func lineDFATail(c *dfaCursor, k, e int) int {
	_, q := dfaStep(c, c.p[k], e, c.q[k], c.s[k])
	return q
}

// dfaStep reads the bytes from p to e from state s, writing from q, and
// returns the state and where its answers end.
func dfaStep(c *dfaCursor, p, e, q int, s uint) (uint, int) {
	t := &dfa
	in, o := c.in, c.out
	for ; p < e; p++ {
		s = uint(t.next[(s+uint(t.class[*(*byte)(unsafe.Add(in, p))]))&(dfaSize-1)])
		w := t.out[s/4%(dfaSize/4)]
		*(*uint16)(unsafe.Add(o, q)) = uint16(w)
		q += int(w >> 16)
	}
	return s, q
}
