package netcore

import (
	"bytes"
	"fmt"
	"go/format"
	"os"
	"regexp/syntax"
	"slices"
	"strings"
	"testing"
)

// Node's regular expressions (lib/internal/net.js, IPv4Reg and IPv6Reg,
// unchanged from v20 to v26), spelled for regexp/syntax and without their
// anchors: a line is an address when the whole of it matches.
const (
	nodeV4Seg = `(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])`
	nodeV4Str = `(?:` + nodeV4Seg + `\.){3}` + nodeV4Seg
	nodeV6Seg = `(?:[0-9a-fA-F]{1,4})`
	nodeIPv4  = nodeV4Str
	nodeIPv6  = `(?:` +
		`(?:` + nodeV6Seg + `:){7}(?:` + nodeV6Seg + `|:)|` +
		`(?:` + nodeV6Seg + `:){6}(?:` + nodeV4Str + `|:` + nodeV6Seg + `|:)|` +
		`(?:` + nodeV6Seg + `:){5}(?::` + nodeV4Str + `|(?::` + nodeV6Seg + `){1,2}|:)|` +
		`(?:` + nodeV6Seg + `:){4}(?:(?::` + nodeV6Seg + `){0,1}:` + nodeV4Str + `|(?::` + nodeV6Seg + `){1,3}|:)|` +
		`(?:` + nodeV6Seg + `:){3}(?:(?::` + nodeV6Seg + `){0,2}:` + nodeV4Str + `|(?::` + nodeV6Seg + `){1,4}|:)|` +
		`(?:` + nodeV6Seg + `:){2}(?:(?::` + nodeV6Seg + `){0,3}:` + nodeV4Str + `|(?::` + nodeV6Seg + `){1,5}|:)|` +
		`(?:` + nodeV6Seg + `:){1}(?:(?::` + nodeV6Seg + `){0,4}:` + nodeV4Str + `|(?::` + nodeV6Seg + `){1,6}|:)|` +
		`(?::(?:(?::` + nodeV6Seg + `){0,5}:` + nodeV4Str + `|(?::` + nodeV6Seg + `){1,7}|:))` +
		`)(?:%[0-9a-zA-Z\-.:]{1,})?`
)

// buildLineDFA makes the automaton of AppendIsIPLines from Node's
// expressions: the subset construction over their compiled programs, run
// on both at once (a state is a set of places in either), with "\n" and
// "\r" around them, then minimized. Bytes that no instruction tells apart
// share a class; "\n" and "\r" have their own.
func buildLineDFA() (next []uint16, class [256]uint8) {
	var progs [2]*syntax.Prog
	for i, expr := range []string{nodeIPv4, nodeIPv6} {
		re, err := syntax.Parse(expr, syntax.Perl)
		if err != nil {
			panic(err)
		}
		if progs[i], err = syntax.Compile(re.Simplify()); err != nil {
			panic(err)
		}
	}
	// A place is prog<<16 | pc.
	inst := func(pl uint32) *syntax.Inst { return &progs[pl>>16].Inst[pl&0xffff] }
	closure := func(seed []uint32) []uint32 {
		seen := map[uint32]bool{}
		var set []uint32
		var add func(pl uint32)
		add = func(pl uint32) {
			if seen[pl] {
				return
			}
			seen[pl] = true
			in := inst(pl)
			base := pl &^ 0xffff
			switch in.Op {
			case syntax.InstAlt, syntax.InstAltMatch:
				add(base | in.Out)
				add(base | in.Arg)
			case syntax.InstNop, syntax.InstCapture:
				add(base | in.Out)
			case syntax.InstFail:
			case syntax.InstMatch, syntax.InstRune, syntax.InstRune1, syntax.InstRuneAny, syntax.InstRuneAnyNotNL:
				set = append(set, pl)
			default:
				panic(fmt.Sprintf("unexpected instruction %v in an address expression", in.Op))
			}
		}
		for _, pl := range seed {
			add(pl)
		}
		slices.Sort(set)
		return set
	}
	// Node reads a JavaScript string: a byte of a UTF-8 sequence is never
	// one of the ASCII characters the expressions accept.
	matches := func(pl uint32, c byte) bool {
		in := inst(pl)
		return in.Op != syntax.InstMatch && c < 0x80 && in.MatchRune(rune(c))
	}
	var places []uint32
	for p := range progs {
		for pc := range progs[p].Inst {
			places = append(places, uint32(p)<<16|uint32(pc))
		}
	}
	sigs := map[string]uint8{}
	var rep []byte // a byte of each class
	for c := range 256 {
		sig := []byte{0}
		if c == '\n' || c == '\r' {
			sig[0] = byte(c)
		} else {
			for _, pl := range places {
				sig = append(sig, b2byte(matches(pl, byte(c))))
			}
		}
		k, ok := sigs[string(sig)]
		if !ok {
			k = uint8(len(rep))
			sigs[string(sig)] = k
			rep = append(rep, byte(c))
		}
		class[c] = k
	}
	if len(rep) > dfaClasses {
		panic("too many byte classes")
	}
	answer := func(set []uint32) int { // 0, 1 for IPv4, 2 for IPv6
		a := 0
		for _, pl := range set {
			if inst(pl).Op == syntax.InstMatch {
				a = max(a, int(pl>>16)+1)
			}
		}
		return a
	}
	start := closure([]uint32{uint32(progs[0].Start), 1<<16 | uint32(progs[1].Start)})
	sets := make([][]uint32, dfaFixed) // the fixed states are not interned
	for i := range 3 {
		sets[stateNL+i] = start
	}
	sets[stateStart] = start
	index := map[string]int{}
	intern := func(set []uint32) int {
		if len(set) == 0 {
			return stateDead
		}
		k := fmt.Sprint(set)
		if i, ok := index[k]; ok {
			return i
		}
		index[k] = len(sets)
		sets = append(sets, set)
		return len(sets) - 1
	}
	var rows [][dfaClasses]int
	for from := 0; from < len(sets); from++ {
		var row [dfaClasses]int
		cr := from >= stateCR && from < stateCR+3
		for k, c := range rep {
			switch {
			case from == stateDead:
				row[k] = stateDead
			case cr && c == '\n':
				row[k] = stateNL + from - stateCR
			case cr && c == '\r':
				row[k] = stateCR // the "\r" before is part of the line
			case cr:
				row[k] = stateDead
			case c == '\n':
				row[k] = stateNL + answer(sets[from])
			case c == '\r':
				row[k] = stateCR + answer(sets[from])
			default:
				var next []uint32
				for _, pl := range sets[from] {
					if matches(pl, c) {
						next = append(next, pl&^0xffff|inst(pl).Out)
					}
				}
				row[k] = intern(closure(next))
			}
		}
		if from == stateDead {
			row[class['\n']], row[class['\r']] = stateNL, stateCR
		}
		rows = append(rows, row)
	}
	rows = minimize(rows)
	if len(rows)*dfaClasses > dfaSize {
		panic("too many states")
	}
	for _, row := range rows {
		for _, to := range row {
			next = append(next, uint16(to*dfaClasses))
		}
	}
	return next, class
}

func b2byte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// minimize merges the states that no input tells apart (Moore's
// refinement), keeping the fixed states and their numbers.
func minimize(rows [][dfaClasses]int) [][dfaClasses]int {
	block := make([]int, len(rows))
	for s := range rows {
		block[s] = min(s, dfaFixed) // each fixed state alone, the others together
	}
	for n := 0; ; {
		ids := map[string]int{}
		next := make([]int, len(rows))
		for s, row := range rows {
			var key strings.Builder
			fmt.Fprint(&key, block[s])
			if s < dfaFixed {
				fmt.Fprint(&key, "fixed", s)
			}
			for _, to := range row {
				fmt.Fprint(&key, ",", block[to])
			}
			id, ok := ids[key.String()]
			if !ok {
				id = len(ids)
				ids[key.String()] = id
			}
			next[s] = id
		}
		block = next
		if len(ids) == n {
			break
		}
		n = len(ids)
	}
	// The fixed states are the first blocks, in order (each is alone, and
	// blocks are numbered by their first state).
	nb := 0
	for _, b := range block {
		nb = max(nb, b+1)
	}
	out := make([][dfaClasses]int, nb)
	for s, row := range rows {
		for k, to := range row {
			out[block[s]][k] = block[to]
		}
	}
	return out
}

// TestIsIPLinesTable checks that isip_lines_table.go is what
// buildLineDFA makes from Node's expressions (-update rewrites it), and
// that every entry stays in the table, as runLineDFA assumes.
func TestIsIPLinesTable(t *testing.T) {
	next, class := buildLineDFA()
	var b bytes.Buffer
	b.WriteString("// Code generated by TestIsIPLinesTable (go generate ./netcore); DO NOT EDIT.\n\n")
	b.WriteString("package netcore\n\n")
	fmt.Fprintf(&b, "// dfa is the automaton of AppendIsIPLines: %d states of %d classes.\n", len(next)/dfaClasses, dfaClasses)
	b.WriteString("var dfa = lineTables{\n\tclass: [256]uint8{")
	for i, c := range class {
		if i%16 == 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "%d, ", c)
	}
	b.WriteString("\n},\n\tnext: [dfaSize]uint16{")
	for i, e := range next {
		if i%dfaClasses == 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "%d, ", e)
	}
	b.WriteString("\n},\n}\n")
	src, err := format.Source(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	const path = "isip_lines_table.go"
	if *update {
		if err := os.WriteFile(path, src, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	have, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(have, src) {
		t.Fatalf("%s is stale: run go generate ./netcore", path)
	}
	for i, e := range next {
		if int(e) >= len(next) || e%dfaClasses != 0 {
			t.Fatalf("entry %d: %#x is not a row of the table", i, e)
		}
	}
	if class['\n'] == class['\r'] || int(max(class['\n'], class['\r'])) >= dfaClasses {
		t.Fatal("bad classes")
	}
}
