package blocklist

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestCheckedIndex: an entry's intervals make an index only when they
// are what an index holds (each start at most its end, each interval
// after the one before with a gap between), and its directories are
// then what their definition says, answering as a binary search does.
func TestCheckedIndex(t *testing.T) {
	m := ^uint64(0)
	good4 := [][]uint64{
		nil,
		{span4(0, 0)},
		{span4(0, 0), span4(2, 5), span4(7, 0xffffffff)},
		{span4(0xffffffff, 0xffffffff)},
	}
	bad4 := map[string][]uint64{
		"start after end":   {span4(5, 4)},
		"overlapping":       {span4(1, 5), span4(5, 9)},
		"adjacent":          {span4(1, 5), span4(6, 9)},
		"same start":        {span4(1, 5), span4(1, 9)},
		"out of order":      {span4(10, 20), span4(1, 2)},
		"after the last":    {span4(1, 0xffffffff), span4(0, 0)},
		"late out of order": slices.Insert(seq4(100), 50, span4(0, 0)),
	}
	good6 := [][]span6{
		nil,
		{{u128{0, 0}, u128{0, 0}}},
		{{u128{0, 0}, u128{0, 0}}, {u128{0, 2}, u128{0, m}}, {u128{1, 1}, u128{m, m}}},
		{{u128{m, m}, u128{m, m}}},
	}
	bad6 := map[string][]span6{
		"start after end (low half)":  {{u128{3, 5}, u128{3, 4}}},
		"start after end (high half)": {{u128{4, 0}, u128{3, m}}},
		"adjacent across the halves":  {{u128{0, 0}, u128{0, m}}, {u128{1, 0}, u128{2, 0}}},
		"overlapping":                 {{u128{0, 0}, u128{5, 5}}, {u128{5, 5}, u128{6, 0}}},
		"after the last address":      {{u128{0, 0}, u128{m, m}}, {u128{0, 0}, u128{0, 0}}},
		"out of order":                {{u128{9, 0}, u128{9, 1}}, {u128{1, 0}, u128{1, 1}}},
		"late out of order":           slices.Insert(seq6(100), 50, span6{u128{0, 0}, u128{0, 0}}),
		"after the last, in order":    {{u128{0, 0}, u128{m, m}}, {u128{5, 5}, u128{6, 6}}},
		"after the last, just":        {{u128{0, 0}, u128{m, m - 1}}, {u128{m, m}, u128{m, m}}},
	}
	for i, v4 := range good4 {
		for j, v6 := range good6 {
			if checkedIndex(v4, v6, dir{}, dir{}) == nil {
				t.Errorf("IPv4 set %d with IPv6 set %d: refused", i, j)
			}
		}
	}
	for what, v4 := range bad4 {
		if checkedIndex(v4, nil, dir{}, dir{}) != nil || checkedIndex(v4, good6[2], dir{}, dir{}) != nil {
			t.Errorf("IPv4 %s: taken", what)
		}
	}
	for what, v6 := range bad6 {
		if checkedIndex(nil, v6, dir{}, dir{}) != nil || checkedIndex(good4[2], v6, dir{}, dir{}) != nil {
			t.Errorf("IPv6 %s: taken", what)
		}
	}

	// Sets as indexes hold them, of every size around dirMin.
	r := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{1, dirMin - 1, dirMin, dirMin + 1, 700, 5000, 60000} {
		sp := spans{}
		for range n {
			s := r.Uint32()
			sp.v4 = append(sp.v4, span4(s, s+min(uint32(r.IntN(64)), ^s)))
			h := r.Uint64() >> r.IntN(64)
			sp.v6 = append(sp.v6, span6{u128{h, 0}, u128{h, uint64(r.IntN(1 << 20))}})
		}
		built := buildIndex(nil, &sp)
		v4, v6 := slices.Clone(built.v4), slices.Clone(built.v6)
		x := checkedIndex(v4, v6, built.v4Dir, built.v6Dir)
		if x == nil {
			t.Fatalf("%d intervals: an index's own intervals and directories refused", n)
		}
		// Each directory made again for the intervals as they are (as
		// buildIndex makes one for sets that have been added to).
		var again [2]dir
		if len(v4) > 0 {
			again[0] = newDir(len(v4), v4[0]>>32, v4[len(v4)-1]>>32)
			again[0].fill(len(v4), func(i int) uint64 { return v4[i] >> 32 })
		}
		if len(v6) > 0 {
			again[1] = newDir(len(v6), v6[0].start.hi, v6[len(v6)-1].start.hi)
			again[1].fill(len(v6), func(i int) uint64 { return v6[i].start.hi })
		}
		if checkedIndex(v4, v6, again[0], again[1]) == nil {
			t.Fatalf("%d intervals: directories made again refused", n)
		}
		// Directories that say otherwise.
		for what, d := range wrongDirs(built.v4Dir, len(v4)) {
			if checkedIndex(v4, v6, d, built.v6Dir) != nil {
				t.Errorf("%d intervals: IPv4 directory %s taken", n, what)
			}
		}
		for what, d := range wrongDirs(built.v6Dir, len(v6)) {
			if checkedIndex(v4, v6, built.v4Dir, d) != nil {
				t.Errorf("%d intervals: IPv6 directory %s taken", n, what)
			}
		}
		name := fmt.Sprint(n, " intervals")
		starts := make([]uint64, 0, len(v4))
		for _, v := range v4 {
			starts = append(starts, v>>32)
		}
		checkDir(t, x.v4Dir, starts)
		starts = starts[:0]
		for _, v := range v6 {
			starts = append(starts, v.start.hi)
		}
		checkDir(t, x.v6Dir, starts)
		checkAnswers4(t, name, x, v4, r)
		checkAnswers6(t, name, x, v6, r)
	}
}

// seq4 and seq6 are n well-ordered intervals.
func seq4(n int) []uint64 {
	var s []uint64
	for i := range uint32(n) {
		s = append(s, span4(10*i+1, 10*i+2))
	}
	return s
}

func seq6(n int) []span6 {
	var s []span6
	for i := range uint64(n) {
		s = append(s, span6{u128{i, 1}, u128{i, 2}})
	}
	return s
}

// wrongDirs are directories like d, of n keys, each wrong in one way.
func wrongDirs(d dir, n int) map[string]dir {
	if d.first == nil {
		return nil
	}
	with := func(f func(d *dir)) dir {
		w := dir{min: d.min, shift: d.shift, first: slices.Clone(d.first)}
		f(&w)
		return w
	}
	k := len(d.first) / 2
	for k < len(d.first)-1 && d.first[k] == d.first[k+1] {
		k++ // a slice with keys: moving its entry moves a key out
	}
	return map[string]dir{
		"an entry one more": with(func(w *dir) { w.first[k]++ }),
		"an entry one less": with(func(w *dir) { w.first[k]-- }),
		"the first entry":   with(func(w *dir) { w.first[0] = 1 }),
		"the last entry":    with(func(w *dir) { w.first[len(w.first)-1] = uint32(n + 1) }),
		"a larger min":      with(func(w *dir) { w.min++ }),
		"a smaller min":     with(func(w *dir) { w.min -= 1 << w.shift }),
		"a larger shift":    with(func(w *dir) { w.shift++ }),
		"a smaller shift":   with(func(w *dir) { w.shift-- }),
		"one entry short":   with(func(w *dir) { w.first = w.first[:len(w.first)-1]; w.first[len(w.first)-1] = uint32(n) }),
		"a shift of 64":     with(func(w *dir) { w.shift = 64 }),
		"one entry":         with(func(w *dir) { w.first = []uint32{uint32(n)} }),
	}
}

// emptyIndex is an index of no interval, as an entry may hold.
func emptyIndex() *index { return checkedIndex(nil, nil, dir{}, dir{}) }
