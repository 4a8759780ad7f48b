package blocklist

import (
	"bytes"
	"os"
	"testing"
)

// BenchmarkImportPhases times the parts of an import of the bench
// harness's rule file of 100,000 rules, when it is there: reading it as
// check does, as Import does, sorting out its addresses, and ordering
// them as Node's table lists them.
func BenchmarkImportPhases(b *testing.B) {
	data, err := os.ReadFile("/tmp/nodenet-bench-data/rules-100000.json")
	if err != nil {
		b.Skip(err)
	}
	b.Run("check-parse", func(b *testing.B) {
		for b.Loop() {
			var sp spans
			if err := scanSpans(data, &sp); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("import-parse", func(b *testing.B) {
		for b.Loop() {
			if readImport(data) == nil {
				b.Fatal("not read")
			}
		}
	})
	r := readImport(data)
	a := r.addrs
	b.Run("order", func(b *testing.B) {
		for b.Loop() {
			listOrder(a.group, a.vals, nil)
		}
	})
}

// BenchmarkNodeText checks the IPv6 texts of the bench harness's rule
// file.
func BenchmarkNodeText(b *testing.B) {
	data, err := os.ReadFile("/tmp/nodenet-bench-data/rules-100000.json")
	if err != nil {
		b.Skip(err)
	}
	type text struct {
		c crule
		t []byte
	}
	var texts []text
	for _, line := range bytes.Split(data, []byte("\n")) {
		i := bytes.IndexByte(line, '"')
		j := bytes.LastIndexByte(line, '"')
		if i < 0 || j <= i {
			continue
		}
		c, err := parseRuleString(line[i+1 : j])
		if err != nil {
			b.Fatal(err)
		}
		texts = append(texts, text{c, line[i+1 : j]})
	}
	b.ResetTimer()
	for b.Loop() {
		for i := range texts {
			t := &texts[i]
			if !nodeText(&t.c, t.t) {
				b.Fatal(string(t.t))
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(texts)), "ns/rule")
}

// BenchmarkNodeIPv6 checks a few IPv6 texts again and again (in cache).
func BenchmarkNodeIPv6(b *testing.B) {
	texts := []string{"2af9:58d1:3f2:a1fa:5fd2:e7a5:eda9:5326", "2001:db8::1", "::ffff:1.2.3.4", "fe80::1:0:0:1"}
	type in struct {
		t      []byte
		hi, lo uint64
	}
	var ins []in
	for _, s := range texts {
		hi, lo, ok := parseIPv6(s)
		if !ok {
			b.Fatal(s)
		}
		ins = append(ins, in{[]byte(s), hi, lo})
	}
	for b.Loop() {
		for i := range ins {
			if nodeIPv6(ins[i].t, ins[i].hi, ins[i].lo) != len(ins[i].t) {
				b.Fatal(string(ins[i].t))
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(ins)), "ns/text")
}
