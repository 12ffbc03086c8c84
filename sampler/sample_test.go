package sampler

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/medbench/medbench/runners"
)

var inf = float32(math.Inf(-1))

func eq(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] && !(a[i] != a[i] && b[i] != b[i]) {
			return false
		}
	}
	return true
}

func TestRepetitionPenalty(t *testing.T) {
	for _, tc := range []struct {
		name    string
		logits  []float32
		ids     []int
		penalty float32
		want    []float32
	}{
		{"set semantics", []float32{2, -2, 0, 1}, []int{0, 1, 1, 0, 2}, 2, []float32{1, -4, 0, 1}},
		{"penalty 1 no-op", []float32{2, -2}, []int{0, 1}, 1, []float32{2, -2}},
		{"out of range ignored", []float32{3, 3}, []int{-1, 5, 1}, 1.5, []float32{3, 2}},
		{"penalty below 1 boosts", []float32{1, -1}, []int{0, 1}, 0.5, []float32{2, -0.5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seen := make([]uint64, 1)
			l := slices.Clone(tc.logits)
			RepetitionPenalty(l, tc.ids, tc.penalty, seen)
			if !eq(l, tc.want) {
				t.Fatalf("got %v want %v", l, tc.want)
			}
			if seen[0] != 0 {
				t.Fatalf("scratch not cleared: %x", seen[0])
			}
		})
	}
}

func TestSuppressEOS(t *testing.T) {
	l := []float32{1, 2, 3}
	SuppressEOS(l, []int{2, 0}, 1, 2)
	if !eq(l, []float32{inf, 2, inf}) {
		t.Fatalf("got %v", l)
	}
	l = []float32{1, 2, 3}
	SuppressEOS(l, []int{2}, 2, 2)
	if !eq(l, []float32{1, 2, 3}) {
		t.Fatalf("got %v", l)
	}
}

func TestTemperature(t *testing.T) {
	l := []float32{1, -2, 4}
	Temperature(l, 0.5)
	if !eq(l, []float32{2, -4, 8}) {
		t.Fatalf("got %v", l)
	}
}

func TestTopK(t *testing.T) {
	for _, tc := range []struct {
		name   string
		logits []float32
		k      int
		want   []float32
	}{
		{"ties at threshold kept", []float32{1, 3, 3, 2, 3}, 2, []float32{inf, 3, 3, inf, 3}},
		{"plain", []float32{1, 5, 3, 2, 4}, 3, []float32{inf, 5, 3, inf, 4}},
		{"k=0 disabled", []float32{1, 2}, 0, []float32{1, 2}},
		{"k >= V no-op", []float32{1, 2}, 5, []float32{1, 2}},
		{"k=1 ties", []float32{7, 1, 7}, 1, []float32{7, inf, 7}},
		{"already masked", []float32{inf, 1, inf, 2}, 3, []float32{inf, 1, inf, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := slices.Clone(tc.logits)
			TopK(l, tc.k, 1, nil)
			if !eq(l, tc.want) {
				t.Fatalf("got %v want %v", l, tc.want)
			}
		})
	}
}

// refTopK is Hugging Face's TopKLogitsWarper computed with a full sort.
func refTopK(l []float32, k int) {
	s := slices.Clone(l)
	sort.Slice(s, func(i, j int) bool { return s[i] > s[j] })
	thr := s[k-1]
	for i, v := range l {
		if v < thr {
			l[i] = inf
		}
	}
}

// refTopP is Hugging Face's TopPLogitsWarper: stable ascending sort by
// probability, cumulative sum, remove entries with cum <= 1-p, keep the last.
func refTopP(l []float32, p float64) {
	probs := make([]float64, len(l))
	Softmax(l, probs)
	idx := make([]int, len(l))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return probs[idx[a]] < probs[idx[b]] })
	// cum_i > 1-p  <=>  mass strictly above i < p; use the descending mass to
	// avoid float cancellation, as the documented semantics say.
	above := 0.0
	keep := make([]bool, len(l))
	for r := len(idx) - 1; r >= 0; r-- {
		if above < p || r == len(idx)-1 {
			keep[idx[r]] = true
		}
		above += probs[idx[r]]
	}
	for i := range l {
		if !keep[i] {
			l[i] = inf
		}
	}
}

func TestTopKMatchesSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 300; n++ {
		v := 1 + rng.IntN(200)
		l := make([]float32, v)
		for i := range l {
			l[i] = float32(rng.IntN(20)) // many ties
		}
		k := 1 + rng.IntN(v)
		a, b := slices.Clone(l), slices.Clone(l)
		TopK(a, k, 1, nil)
		refTopK(b, k)
		if !eq(a, b) {
			t.Fatalf("k=%d %v: got %v want %v", k, l, a, b)
		}
	}
}

func TestTopP(t *testing.T) {
	// probabilities exactly 1/2, 1/4, 1/8, 1/8
	l0 := []float32{3, 2, 1, 1}
	for i := range l0 {
		l0[i] *= float32(math.Ln2)
	}
	for _, tc := range []struct {
		p    float64
		keep []bool
	}{
		{0, []bool{true, false, false, false}},
		{0.4, []bool{true, false, false, false}},
		{0.7, []bool{true, true, false, false}},
		// boundary tie between ids 2 and 3: the higher id ranks first (torch's
		// stable ascending sort puts id 2 first, so HF removes it).
		{0.8, []bool{true, true, false, true}},
		{0.9, []bool{true, true, true, true}},
		{1, []bool{true, true, true, true}},
	} {
		l := slices.Clone(l0)
		TopP(l, tc.p, 1, nil, nil)
		for i, k := range tc.keep {
			if k != (l[i] > inf) {
				t.Errorf("p=%v: id %d kept=%v, want %v (%v)", tc.p, i, l[i] > inf, k, l)
			}
		}
	}
}

func TestTopPMatchesSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for n := 0; n < 300; n++ {
		v := 1 + rng.IntN(100)
		l := make([]float32, v)
		for i := range l {
			if rng.IntN(10) == 0 {
				l[i] = inf
			} else {
				l[i] = float32(rng.IntN(8)) * 0.5
			}
		}
		l[rng.IntN(v)] = 1
		p := rng.Float64()
		a, b := slices.Clone(l), slices.Clone(l)
		TopP(a, p, 1, nil, nil)
		refTopP(b, p)
		if !eq(a, b) {
			t.Fatalf("p=%v %v: got %v want %v", p, l, a, b)
		}
	}
}

func TestGreedy(t *testing.T) {
	nan := float32(math.NaN())
	for _, tc := range []struct {
		l    []float32
		want int
	}{
		{[]float32{1, 3, 3, 2}, 1},
		{[]float32{nan, 1, 0}, 1},
		{[]float32{inf, inf}, 0},
		{[]float32{nan}, -1},
		{nil, -1},
	} {
		if got := Greedy(tc.l); got != tc.want {
			t.Errorf("Greedy(%v)=%d want %d", tc.l, got, tc.want)
		}
	}
}

func TestMultinomialDistribution(t *testing.T) {
	l := []float32{3, 2, inf, 1, 1}
	for i := range l {
		l[i] *= float32(math.Ln2)
	}
	want := []float64{0.5, 0.25, 0, 0.125, 0.125}
	rng := NewRand(42)
	const n = 200000
	counts := make([]int, len(l))
	probs := make([]float64, len(l))
	for range n {
		counts[Multinomial(l, rng, probs)]++
	}
	for i, w := range want {
		got := float64(counts[i]) / n
		sd := math.Sqrt(w * (1 - w) / n)
		if math.Abs(got-w) > 5*sd+1e-12 {
			t.Errorf("id %d: freq %.4f want %.4f", i, got, w)
		}
	}
	if Multinomial([]float32{inf, inf}, rng, nil) != -1 {
		t.Error("all -Inf must give -1")
	}
}

func TestSamplerGreedyOrder(t *testing.T) {
	// repetition penalty applies before the argmax even when greedy.
	s, err := New(runners.Sampling{RepetitionPenalty: 2, MaxNewTokens: 4, TopP: 1, Temperature: 1}, 3, []int{2})
	if err != nil {
		t.Fatal(err)
	}
	l := []float32{4, 3, 5}
	id, err := s.Sample(l, []int{0}, 5, nil)
	if err != nil || id != 2 {
		t.Fatalf("got %d %v", id, err)
	}
	// min_new_tokens masks EOS (id 2) while generated < 3.
	s, _ = New(runners.Sampling{RepetitionPenalty: 1, MaxNewTokens: 4, MinNewTokens: 3}, 3, []int{2})
	l = []float32{4, 3, 5}
	if id, _ := s.Sample(l, nil, 2, nil); id != 0 {
		t.Fatalf("min_new_tokens: got %d want 0", id)
	}
	l = []float32{4, 3, 5, 0}
	if _, err := s.Sample(l, nil, 0, nil); err == nil || !strings.HasPrefix(err.Error(), "sample: ") {
		t.Fatalf("width mismatch: %v", err)
	}
}

func TestSamplerSampling(t *testing.T) {
	// temperature 0.5 squares the odds; top_k 2 keeps ids 0,1: p = 16/20, 4/20.
	cfg := runners.Sampling{DoSample: true, Temperature: 0.5, TopK: 2, TopP: 1, RepetitionPenalty: 1, MaxNewTokens: 1}
	s, err := New(cfg, 4, nil)
	if err != nil {
		t.Fatal(err)
	}
	base := []float32{2, 1, 0, -1}
	for i := range base {
		base[i] *= float32(math.Ln2)
	}
	rng := NewRand(7)
	counts := make([]int, 4)
	l := make([]float32, 4)
	const n = 100000
	for range n {
		copy(l, base)
		id, err := s.Sample(l, nil, 0, rng)
		if err != nil {
			t.Fatal(err)
		}
		counts[id]++
	}
	for i, w := range []float64{0.8, 0.2, 0, 0} {
		got := float64(counts[i]) / n
		if math.Abs(got-w) > 5*math.Sqrt(w*(1-w)/n)+1e-12 {
			t.Errorf("id %d freq %.4f want %.2f", i, got, w)
		}
	}
	if _, err := s.Sample(l, nil, 0, nil); err == nil {
		t.Error("nil rng must fail when sampling")
	}
}

func TestValidate(t *testing.T) {
	ok := runners.SeedPreset()
	if err := Validate(ok); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		mod  func(*runners.Sampling)
		msg  string
	}{
		{"temperature 0", func(s *runners.Sampling) { s.DoSample = true; s.Temperature = 0 }, "temperature"},
		{"top_p", func(s *runners.Sampling) { s.DoSample = true; s.TopP = 1.5 }, "top_p"},
		{"top_k", func(s *runners.Sampling) { s.DoSample = true; s.TopK = -1 }, "top_k"},
		{"penalty", func(s *runners.Sampling) { s.RepetitionPenalty = 0 }, "repetition_penalty"},
		{"max", func(s *runners.Sampling) { s.MaxNewTokens = 0 }, "max_new_tokens"},
		{"min", func(s *runners.Sampling) { s.MinNewTokens = 600 }, "min_new_tokens"},
	} {
		c := ok
		tc.mod(&c)
		err := Validate(c)
		if err == nil || !strings.Contains(err.Error(), tc.msg) || !strings.HasPrefix(err.Error(), "sample: ") {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	// temperature 0 is fine when greedy (HF ignores it).
	c := ok
	c.Temperature = 0
	if err := Validate(c); err != nil {
		t.Error(err)
	}
}

func TestSeedFor(t *testing.T) {
	a, b, c := SeedFor(1, "simple/3", RunnerSeed), SeedFor(1, "simple/3", RunnerSeed), SeedFor(2, "simple/3", RunnerSeed)
	if a != b || a == c || a == SeedFor(1, "simple/4", RunnerSeed) {
		t.Fatalf("seeds %x %x %x", a, b, c)
	}
	r1, r2 := NewRand(a), NewRand(a)
	for range 10 {
		if r1.Uint64() != r2.Uint64() {
			t.Fatal("same seed, different streams")
		}
	}
}

const benchVocab = 151936

func benchLogits() []float32 {
	rng := rand.New(rand.NewPCG(9, 9))
	l := make([]float32, benchVocab)
	for i := range l {
		l[i] = float32(rng.NormFloat64() * 3)
	}
	return l
}

func TestSamplerNoAllocs(t *testing.T) {
	cfg := runners.Sampling{DoSample: true, Temperature: 0.7, TopK: 50, TopP: 0.9, RepetitionPenalty: 1.1, MaxNewTokens: 8}
	s, err := New(cfg, benchVocab, []int{151645})
	if err != nil {
		t.Fatal(err)
	}
	base := benchLogits()
	l := make([]float32, benchVocab)
	ctx := []int{1, 2, 3, 151655, 151655}
	rng := NewRand(1)
	allocs := testing.AllocsPerRun(5, func() {
		copy(l, base)
		if _, err := s.Sample(l, ctx, 0, rng); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("Sample allocates %v times per call", allocs)
	}
}

func benchSampler(b *testing.B, cfg runners.Sampling) {
	s, err := New(cfg, benchVocab, []int{151645, 151643})
	if err != nil {
		b.Fatal(err)
	}
	base := benchLogits()
	l := make([]float32, benchVocab)
	ctx := make([]int, 600)
	for i := range ctx {
		ctx[i] = i * 97 % benchVocab
	}
	rng := NewRand(1)
	b.ReportAllocs()
	for b.Loop() {
		copy(l, base)
		if _, err := s.Sample(l, ctx, 0, rng); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGreedy(b *testing.B) { benchSampler(b, runners.SeedPreset()) }

func BenchmarkSampleTopKTopP(b *testing.B) {
	benchSampler(b, runners.Sampling{DoSample: true, Temperature: 0.7, TopK: 50, TopP: 0.9, RepetitionPenalty: 1.05, MaxNewTokens: 8})
}

func BenchmarkSampleTopP(b *testing.B) {
	benchSampler(b, runners.Sampling{DoSample: true, Temperature: 1, TopP: 0.9, RepetitionPenalty: 1, MaxNewTokens: 8})
}

func BenchmarkTopK(b *testing.B) {
	base := benchLogits()
	l := make([]float32, benchVocab)
	scratch := make([]float32, benchVocab)
	b.ReportAllocs()
	for b.Loop() {
		copy(l, base)
		TopK(l, 50, 1, scratch)
	}
}

func TestSamplerTopPDistribution(t *testing.T) {
	// p = 1/2, 1/4, 1/8, 1/8; top_p 0.8 keeps ids 0, 1 and 3 (tie: higher
	// id first), renormalized to 4/7, 2/7, 0, 1/7.
	cfg := runners.Sampling{DoSample: true, Temperature: 1, TopP: 0.8, RepetitionPenalty: 1, MaxNewTokens: 1}
	s, err := New(cfg, 4, nil)
	if err != nil {
		t.Fatal(err)
	}
	base := []float32{3, 2, 1, 1}
	for i := range base {
		base[i] *= float32(math.Ln2)
	}
	rng := NewRand(11)
	counts := make([]int, 4)
	l := make([]float32, 4)
	const n = 140000
	for range n {
		copy(l, base)
		id, err := s.Sample(l, nil, 0, rng)
		if err != nil {
			t.Fatal(err)
		}
		counts[id]++
	}
	for i, w := range []float64{4.0 / 7, 2.0 / 7, 0, 1.0 / 7} {
		got := float64(counts[i]) / n
		if math.Abs(got-w) > 5*math.Sqrt(w*(1-w)/n)+1e-12 {
			t.Errorf("id %d freq %.4f want %.4f", i, got, w)
		}
	}
}

func TestTopPLargeVocab(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for n := 0; n < 20; n++ {
		l := make([]float32, 20000)
		for i := range l {
			l[i] = float32(rng.NormFloat64() * (1 + float64(n)/4))
		}
		p := []float64{0.1, 0.5, 0.9, 0.99}[n%4]
		a, b := slices.Clone(l), slices.Clone(l)
		TopP(a, p, 1, nil, nil)
		refTopP(b, p)
		if !eq(a, b) {
			t.Fatalf("run %d p=%v: kept sets differ", n, p)
		}
	}
}

// TestSeedForKinds pins both derivations to the values recorded runs hold
// (evaluate's request seeds and the runner's own), so that neither kind can
// drift into the other.
func TestSeedForKinds(t *testing.T) {
	for _, tc := range []struct {
		run  uint64
		key  string
		kind SeedKind
		want uint64
	}{
		{42, "complex/0", RequestSeed, 0xd76d5208b9755a5c},
		{7, "grpo/3/MRI/12/1", RequestSeed, 0xa97f857ee585721c},
		{42, "complex/0", RunnerSeed, 0x989385cafe59dfd8},
		{7, "simple/3", RunnerSeed, 0x135a6bc1ce398a1a},
	} {
		if got := SeedFor(tc.run, tc.key, tc.kind); got != tc.want {
			t.Errorf("SeedFor(%d, %q, %d) = %#x, want %#x", tc.run, tc.key, tc.kind, got, tc.want)
		}
	}
}

func BenchmarkSeedFor(b *testing.B) {
	for b.Loop() {
		SeedFor(42, "complex/123", RequestSeed)
	}
}
