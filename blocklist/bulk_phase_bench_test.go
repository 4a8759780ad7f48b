package blocklist

import (
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
	b.Run("addresses", func(b *testing.B) {
		for b.Loop() {
			r.addresses()
		}
	})
	a := r.addresses()
	b.Run("order", func(b *testing.B) {
		for b.Loop() {
			listOrder(a.group, a.vals)
		}
	})
}
