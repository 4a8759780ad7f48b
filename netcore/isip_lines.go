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
	t := unsafe.Pointer(&dfaNext)
	cls := &dfaClass
	in := unsafe.Pointer(unsafe.SliceData(lines))
	o := unsafe.Pointer(unsafe.SliceData(out))
	m := len(lines) // the length of the shortest part
	for k := range dfaWays {
		m = min(m, part[k+1]-part[k])
	}
	p0, p1, p2 := unsafe.Add(in, part[0]), unsafe.Add(in, part[1]), unsafe.Add(in, part[2])
	q0, q1, q2 := unsafe.Add(o, 2*part[0]), unsafe.Add(o, 2*part[1]), unsafe.Add(o, 2*part[2])
	var s0, s1, s2 uint = stateStart * dfaClasses, stateStart * dfaClasses, stateStart * dfaClasses
	// All parts together for the length of the shortest.
	for end0 := unsafe.Add(p0, m); p0 != end0; {
		s0 = uint(*(*uint32)(unsafe.Add(t, (s0+uint(cls[*(*byte)(p0)]))&0xffff*4)))
		s1 = uint(*(*uint32)(unsafe.Add(t, (s1+uint(cls[*(*byte)(p1)]))&0xffff*4)))
		s2 = uint(*(*uint32)(unsafe.Add(t, (s2+uint(cls[*(*byte)(p2)]))&0xffff*4)))
		*(*uint16)(q0) = uint16(s0 >> 16)
		*(*uint16)(q1) = uint16(s1 >> 16)
		*(*uint16)(q2) = uint16(s2 >> 16)
		q0 = unsafe.Add(q0, (s0>>16+0xffff)>>15&2)
		q1 = unsafe.Add(q1, (s1>>16+0xffff)>>15&2)
		q2 = unsafe.Add(q2, (s2>>16+0xffff)>>15&2)
		p0 = unsafe.Add(p0, 1)
		p1 = unsafe.Add(p1, 1)
		p2 = unsafe.Add(p2, 1)
	}
	// Then the rest of each part alone.
	got[0] = int(uintptr(lineDFATail(p0, unsafe.Add(in, part[1]), q0, s0)) - uintptr(o) - uintptr(2*part[0]))
	got[1] = int(uintptr(lineDFATail(p1, unsafe.Add(in, part[2]), q1, s1)) - uintptr(o) - uintptr(2*part[1]))
	got[2] = int(uintptr(lineDFATail(p2, unsafe.Add(in, part[3]), q2, s2)) - uintptr(o) - uintptr(2*part[2]))
}

// lineDFATail goes on from state s with the bytes from p to e, writing
// at q, and returns where its answers end.
func lineDFATail(p, e, q unsafe.Pointer, s uint) unsafe.Pointer {
	t := unsafe.Pointer(&dfaNext)
	cls := &dfaClass
	for ; p != e; p = unsafe.Add(p, 1) {
		s = uint(*(*uint32)(unsafe.Add(t, (s+uint(cls[*(*byte)(p)]))&0xffff*4)))
		*(*uint16)(q) = uint16(s >> 16)
		q = unsafe.Add(q, (s>>16+0xffff)>>15&2)
	}
	return q
}
