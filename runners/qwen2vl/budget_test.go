package qwen2vl

import (
	"testing"

	"github.com/medbench/medbench/model/imageproc"
)

// TestDecodeBudget: the batch's decoded images are collected each time
// those prepared since the last collection pass the bound, so at most about
// one bound's worth (plus one image) waits for the collector.
func TestDecodeBudget(t *testing.T) {
	collected := 0
	b := newDecodeBudget(100, func() { collected++ })
	for _, n := range []int64{60, 30, 20, 150, 10} {
		b.add(n)
	}
	// 60+30+20 = 110 > 100: collect; 150 > 100: collect; 10 waits.
	if collected != 2 || b.used != 10 {
		t.Errorf("collected %d times, %d bytes pending; want 2 and 10", collected, b.used)
	}
	if d := newDecodeBudget(0, func() {}); d.bound != imageproc.DefaultMaxBatchImageBytes {
		t.Errorf("default bound %d", d.bound)
	}
}
