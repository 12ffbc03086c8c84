package datasets

import (
	"context"
	"path/filepath"
	"testing"
)

// benchDataset synthesizes a 900-record dataset with small images once per
// benchmark (the seed file's size).
func benchDataset(b *testing.B) (string, string) {
	b.Helper()
	dir := b.TempDir()
	p, err := Synth(context.Background(), SynthOptions{Out: dir, N: 900, Seed: 1, MaxSide: 112})
	if err != nil {
		b.Fatal(err)
	}
	return dir, p
}

func BenchmarkReadRecords900(b *testing.B) {
	_, p := benchDataset(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := ReadRecords(p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidate900(b *testing.B) {
	dir, p := benchDataset(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		probs, err := Validate(context.Background(), p, dir)
		if err != nil || len(probs) != 0 {
			b.Fatal(probs, err)
		}
	}
}

func BenchmarkLoadParquetEmbedded900(b *testing.B) {
	dir, p := benchDataset(b)
	pq := filepath.Join(dir, "d.parquet")
	if err := ConvertJSONToParquet(context.Background(), p, pq, dir, true); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := LoadParquet(pq, ColumnMap{}, dir); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSynth100Small(b *testing.B) {
	for i := 0; i < b.N; i++ {
		if _, err := Synth(context.Background(), SynthOptions{Out: b.TempDir(), N: 100, Seed: uint64(i), MaxSide: 112}); err != nil {
			b.Fatal(err)
		}
	}
}
