package golden

import (
	"bytes"
	"context"
	"encoding/csv"
	"math"
	"strings"
	"testing"

	"github.com/medbench/medbench/metrics"
)

func TestCompareRuns(t *testing.T) {
	// MRI: A right on 0..14, B right on 3..17 → b = 3, c = 3, p = 1.
	// CT:  A right on 100..109, B right on 100..117 → b = 0, c = 8,
	//      p = 2·(½)⁸ = 0.0078125.
	a := makeRun("runA", 0, items("MRI", "complex", 0, 20, 15, 20), items("CT", "complex", 100, 20, 10, 20),
		items("MRI", "complex", 99, 1, 1, 1)) // only in A
	b := makeRun("runB", 0, items("MRI", "complex", 0, 20, 0, 20), items("CT", "complex", 100, 20, 18, 20))
	for i := range 20 {
		b.Samples[i].Correct["strict"] = i >= 3 && i <= 17
	}
	c, err := Compare(context.Background(), Side{Run: a, Prompt: "complex", Label: "A"}, Side{Run: b, Prompt: "complex", Label: "B"}, CompareOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Rows) != 2 || c.OnlyA != 1 || c.OnlyB != 0 || !c.Intersection() {
		t.Fatalf("rows %d onlyA %d onlyB %d", len(c.Rows), c.OnlyA, c.OnlyB)
	}
	mri, ct := c.Rows[0], c.Rows[1]
	if mri.Modality != "MRI" || mri.N != 20 || mri.B != 3 || mri.C != 3 || mri.P != 1 || mri.Delta != 0 || mri.Verdict != CmpNS {
		t.Errorf("MRI row %+v", mri)
	}
	if ct.B != 0 || ct.C != 8 || ct.P != 0.0078125 || ct.AccA != 0.5 || ct.AccB != 0.9 || math.Abs(ct.Delta-0.4) > 1e-15 {
		t.Errorf("CT row %+v", ct)
	}
	// Holm over {1, 0.0078125}: 2·0.0078125 = 0.015625, then max(…, 1) = 1.
	if ct.PHolm != 0.015625 || mri.PHolm != 1 || ct.Verdict != CmpBetter {
		t.Errorf("Holm: CT %v (%s), MRI %v", ct.PHolm, ct.Verdict, mri.PHolm)
	}
	// Pooled: b = 3, c = 11, n = 40 → p = 2·(1+14+91+364)/2¹⁴.
	if p := c.Pooled; p.N != 40 || p.B != 3 || p.C != 11 || math.Abs(p.P-940.0/16384) > 1e-15 || math.Abs(p.Delta-0.2) > 1e-15 {
		t.Errorf("pooled %+v", p)
	}
	if !(ct.Lo <= ct.Delta && ct.Delta <= ct.Hi) || ct.Lo <= 0 {
		t.Errorf("CT interval [%v, %v]", ct.Lo, ct.Hi)
	}
	if n := metrics.ConnorN(ct.MDE, 8.0/20, 0.05, 0.8); math.Abs(n-20) > 1e-6 {
		t.Errorf("CT MDE %v does not invert to n=20 (%v)", ct.MDE, n)
	}
	if len(c.Discordant) != 14 {
		t.Errorf("%d discordant, want 14", len(c.Discordant))
	}
	SortDiscordant(c.Discordant)
	if !c.Discordant[0].CorrectA || c.Discordant[3].CorrectA {
		t.Errorf("losses of B not first: %+v", c.Discordant[:4])
	}
	var buf bytes.Buffer
	if err := c.WriteDiscordantCSV(&buf); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil || len(recs) != 15 || recs[0][3] != "correct_A" {
		t.Errorf("csv: %v %d rows", err, len(recs))
	}
	buf.Reset()
	c.WriteMarkdown(&buf, "A vs B")
	if md := buf.String(); !strings.Contains(md, "intersection (40 items); 1 items only in A") || !strings.Contains(md, "| **all** | 40 |") {
		t.Errorf("markdown:\n%s", md)
	}
	buf.Reset()
	c.WriteText(&buf)
	if !strings.Contains(buf.String(), "B better") || !strings.Contains(buf.String(), "0.0078") {
		t.Errorf("text:\n%s", buf.String())
	}
}

func TestComparePromptsWithinRun(t *testing.T) {
	run := makeRun("r", 0, items("CT", "simple", 0, 30, 10, 30), items("CT", "complex", 0, 30, 20, 25))
	c, err := Compare(context.Background(), Side{Run: run, Prompt: "simple", Label: "simple"}, Side{Run: run, Prompt: "complex", Label: "complex"}, CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := c.Rows[0]
	if r.N != 30 || r.B != 0 || r.C != 10 || c.Intersection() || math.Abs(r.P-2.0/1024) > 1e-15 || r.Verdict != CmpBetter {
		t.Errorf("ablation row %+v", r)
	}
	buf := new(bytes.Buffer)
	c.WriteText(buf)
	if !strings.Contains(buf.String(), "complex better") {
		t.Errorf("verdict not labelled:\n%s", buf)
	}
	buf.Reset()
	c.WriteDiscordantMarkdown(buf, 3, 20)
	if s := buf.String(); strings.Count(s, "## CT #") != 3 || !strings.Contains(s, "10 items") {
		t.Errorf("discordant md:\n%s", s)
	}
}

func TestCompareErrors(t *testing.T) {
	a := makeRun("a", 0, items("CT", "complex", 0, 5, 2, 5))
	b := makeRun("b", 0, items("CT", "complex", 0, 5, 2, 5))
	b.Samples[2].Question = "another question"
	ctx := context.Background()
	if _, err := Compare(ctx, Side{Run: a, Prompt: "complex", Label: "A"}, Side{Run: b, Prompt: "complex", Label: "B"}, CompareOptions{}); err == nil || !strings.Contains(err.Error(), "CT/2") {
		t.Errorf("different data: %v", err)
	}
	if _, err := Compare(ctx, Side{Run: a, Prompt: "simple", Label: "A"}, Side{Run: a, Prompt: "complex", Label: "B"}, CompareOptions{}); err == nil {
		t.Error("missing prompt: no error")
	}
	c := makeRun("c", 0, items("MRI", "complex", 0, 5, 2, 5))
	if _, err := Compare(ctx, Side{Run: a, Prompt: "complex", Label: "A"}, Side{Run: c, Prompt: "complex", Label: "C"}, CompareOptions{}); err == nil || !strings.Contains(err.Error(), "no items in common") {
		t.Errorf("disjoint: %v", err)
	}
	b2 := makeRun("b2", 0, items("CT", "complex", 0, 5, 2, 5))
	b2.Samples[1].Image, a.Samples[1].Image = "x.png", "y.png"
	if _, err := Compare(ctx, Side{Run: a, Prompt: "complex", Label: "A"}, Side{Run: b2, Prompt: "complex", Label: "B"}, CompareOptions{}); err == nil || !strings.Contains(err.Error(), "CT/1") {
		t.Errorf("different image: %v", err)
	}
	a.Samples[1].Image = ""
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Compare(cctx, Side{Run: a, Prompt: "complex", Label: "A"}, Side{Run: a, Prompt: "complex", Label: "B"}, CompareOptions{}); err == nil {
		t.Error("cancelled context: no error")
	}
	if _, err := Compare(ctx, Side{Run: a, Prompt: "complex", Label: "A"}, Side{Run: a, Prompt: "complex", Label: "B"}, CompareOptions{Alpha: 2}); err == nil {
		t.Error("alpha 2: no error")
	}
}
