package netcore

import (
	"bytes"
	"encoding/binary"
	"slices"
	"unsafe"
)

//go:generate go test -run ^TestIsIPLinesTable$ -update

// AppendIsIPLines answers many inputs at once: for each line of lines,
// which must be empty or end with "\n", it appends IsIP's answer for the
// line ("4", "6" or "0") and a "\n" to dst, and it reports whether every
// line is an IP address. A "\r" before a line's "\n" is not part of the
// line.
//
// It answers exactly as IsIP does, by another method, made for batches:
// a deterministic automaton, made from Node's two regular expressions
// (isip_lines_table.go, generated), reads the lines a byte at a time with
// no branch on what it reads, and three parts of the lines are read at
// once, interleaved, so that the table look-ups of one overlap those of
// the others.
func AppendIsIPLines(dst, lines []byte) ([]byte, bool) {
	if len(lines) == 0 {
		return dst, true
	}
	if lines[len(lines)-1] != '\n' {
		panic("netcore: AppendIsIPLines: the lines do not end with a newline")
	}
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

// dfaWays is how many parts of the lines are read at once: three keep
// their state in registers.
const dfaWays = 3

// The automaton (built by buildLineDFA, in isip_lines_build_test.go, and
// written out to isip_lines_table.go) reads a byte's class, dfaClass[c],
// and goes from state s to dfaNext[s*dfaClasses+class]. An entry holds
// the next state's row offset (its number times dfaClasses) in its low 16
// bits, and in its high 16 bits what that state writes: the line's answer
// and "\n", as the two bytes are in memory, for the three states after a
// "\n" (numbered 0 to 2, for the answers 0, 4 and 6), and nothing for the
// others. The start state is 3.
const (
	dfaClasses = 16
	stateNL    = 0
	stateStart = 3
	stateDead  = 4 // no address: waiting for the end of the line
	stateCR    = 5 // stateCR+a: after a "\r" that ends a line answered a if a "\n" follows
	dfaFixed   = stateCR + 3
)

func init() {
	// The table is written for a little-endian machine: on another, the
	// two bytes of the answers are swapped.
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		for i, e := range dfaNext {
			dfaNext[i] = e&0xffff | uint32(bitsSwap16(uint16(e>>16)))<<16
		}
	}
}

func bitsSwap16(x uint16) uint16 { return x<<8 | x>>8 }

// runLineDFA reads lines[part[k]:part[k+1]] for each k at once, writing
// the answers of part k from out[2*part[k]:], and sets got[k] to their
// length.
//
// Every step writes two bytes at the part's write position, which moves
// on only after a "\n": a part of l bytes never writes past 2*l bytes, and
// a write that is not an answer is overwritten by the next one. Every
// entry of dfaNext is a row offset within it (TestIsIPLinesTable checks
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
	if m > 0 {
		dfaStepsFunc(&c, m)
	}
	for k := range dfaWays {
		got[k] = lineDFATail(&c, k, part[k+1]) - 2*part[k]
	}
}

// dfaCursor is where each part is: the index of its next byte in the
// lines at in, of its next answer in the buffer at out, and its state (a
// dfaNext entry). dfaSteps_amd64.s knows its layout.
type dfaCursor struct {
	in, out unsafe.Pointer
	p, q    [dfaWays]int
	s       [dfaWays]uint
}

// dfaStepsFunc is dfaSteps, or dfaStepsGo in tests.
var dfaStepsFunc = dfaSteps

// dfaStepsGo takes n > 0 steps in every part at once: dfaSteps where
// there is no assembly for it.
func dfaStepsGo(c *dfaCursor, n int) {
	t := unsafe.Pointer(&dfaNext)
	cls := &dfaClass
	in, o := c.in, c.out
	p0, p1, p2 := c.p[0], c.p[1], c.p[2]
	q0, q1, q2 := c.q[0], c.q[1], c.q[2]
	s0, s1, s2 := c.s[0], c.s[1], c.s[2]
	for end0 := p0 + n; p0 != end0; {
		s0 = uint(*(*uint32)(unsafe.Add(t, (s0+uint(cls[*(*byte)(unsafe.Add(in, p0))]))&0xffff*4)))
		*(*uint16)(unsafe.Add(o, q0)) = uint16(s0 >> 16)
		q0 += int((s0>>16 + 0xffff) >> 15 & 2)
		s1 = uint(*(*uint32)(unsafe.Add(t, (s1+uint(cls[*(*byte)(unsafe.Add(in, p1))]))&0xffff*4)))
		*(*uint16)(unsafe.Add(o, q1)) = uint16(s1 >> 16)
		q1 += int((s1>>16 + 0xffff) >> 15 & 2)
		s2 = uint(*(*uint32)(unsafe.Add(t, (s2+uint(cls[*(*byte)(unsafe.Add(in, p2))]))&0xffff*4)))
		*(*uint16)(unsafe.Add(o, q2)) = uint16(s2 >> 16)
		q2 += int((s2>>16 + 0xffff) >> 15 & 2)
		p0++
		p1++
		p2++
	}
	c.p, c.q, c.s = [dfaWays]int{p0, p1, p2}, [dfaWays]int{q0, q1, q2}, [dfaWays]uint{s0, s1, s2}
}

// lineDFATail takes part k alone to the byte before e, and returns where
// its answers end.
func lineDFATail(c *dfaCursor, k, e int) int {
	t := unsafe.Pointer(&dfaNext)
	cls := &dfaClass
	in, o := c.in, c.out
	p, q, s := c.p[k], c.q[k], c.s[k]
	for ; p < e; p++ {
		s = uint(*(*uint32)(unsafe.Add(t, (s+uint(cls[*(*byte)(unsafe.Add(in, p))]))&0xffff*4)))
		*(*uint16)(unsafe.Add(o, q)) = uint16(s >> 16)
		q += int((s>>16 + 0xffff) >> 15 & 2)
	}
	return q
}
