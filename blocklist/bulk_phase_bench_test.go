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
