package blocklist

import (
	"os"
	"testing"
)

func benchImportData(b *testing.B) []byte {
	data, err := os.ReadFile("/tmp/nodenet-bench-data/rules-100000.json")
	if err != nil {
		b.Skip(err)
	}
	return data
}

func BenchmarkImportPhases(b *testing.B) {
	data := benchImportData(b)
	b.Run("parse", func(b *testing.B) {
		for b.Loop() {
			var bt Batch
			if _, err := bt.ParseFile(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	var bt0 Batch
	bt0.ParseFile(data)
	b.Run("addbatch", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			var bt Batch
			bt.ParseFile(data)
			l := New()
			b.StartTimer()
			l.AddBatch(&bt)
			l.dropFormatted()
		}
	})
	b.Run("addaddresses", func(b *testing.B) {
		for b.Loop() {
			l := New()
			l.full = true
			l.vals = withRoom(l.vals, bt0.n)
			l.addAddresses(&bt0, bt0.n/2, bt0.n)
		}
	})
	b.Run("formattail", func(b *testing.B) {
		for b.Loop() {
			pf := &preformat{done: make(chan struct{})}
			pf.formatTail(&bt0, nil, nil, nil)
		}
	})
	b.Run("format", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			var bt Batch
			bt.ParseFile(data)
			l := New()
			l.AddBatch(&bt)
			b.StartTimer()
			l.formatTo(func([]byte) bool { return true })
		}
	})
}
