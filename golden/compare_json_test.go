package golden

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/medbench/medbench/metrics"
	"github.com/medbench/medbench/records"
)

// mdCells returns the rows of compare.md's table, cells split and trimmed.
func mdCells(t *testing.T, md string) [][]string {
	t.Helper()
	var rows [][]string
	for _, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "| Modality") {
			continue
		}
		cs := strings.Split(strings.Trim(line, "|"), " | ")
		for i := range cs {
			cs[i] = strings.TrimSpace(cs[i])
		}
		rows = append(rows, cs)
	}
	return rows
}

// TestCompareJSON: compare.json holds every cell of compare.md with the
// same values (as compare.md renders them), and each value is the one the
// metrics functions give for the paired items: McNemar on b, c, Holm
// across the modalities, the MDE, the paired bootstrap interval.
func TestCompareJSON(t *testing.T) {
	a := makeRun("runA", 0, items("MRI", "complex", 0, 20, 15, 20), items("CT", "complex", 100, 20, 10, 20),
		items("Xray", "complex", 200, 12, 6, 12), items("MRI", "complex", 99, 1, 1, 1))
	b := makeRun("runB", 0, items("MRI", "complex", 0, 20, 0, 20), items("CT", "complex", 100, 20, 18, 20),
		items("Xray", "complex", 200, 12, 6, 12))
	for i := range 20 {
		b.Samples[i].Correct["strict"] = i >= 3 && i <= 17
	}
	opts := CompareOptions{Seed: 3, Resamples: 2000}
	c, err := Compare(context.Background(), Side{Run: a, Prompt: "complex", Label: "A"}, Side{Run: b, Prompt: "complex", Label: "B"}, opts)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := c.WriteJSON(&buf, "A vs B"); err != nil {
		t.Fatal(err)
	}
	var j CompareJSON
	if err := json.Unmarshal(buf.Bytes(), &j); err != nil {
		t.Fatalf("compare.json does not parse: %v\n%s", err, buf.String())
	}
	if j.SchemaVersion != CompareJSONVersion || j.A != "A" || j.B != "B" || j.Policy != "strict" || j.Alpha != 0.05 || j.Power != 0.8 ||
		j.CILevel != 0.95 || j.Resamples != 2000 || j.Seed != 3 || j.OnlyA != 1 || j.OnlyB != 0 || j.Discordant != 14 || len(j.Cells) != 4 {
		t.Fatalf("compare.json header: %+v", j)
	}
	var md bytes.Buffer
	if err := c.WriteMarkdown(&md, "A vs B"); err != nil {
		t.Fatal(err)
	}
	rows := mdCells(t, md.String())
	if len(rows) != len(j.Cells) {
		t.Fatalf("%d Markdown rows, %d JSON cells", len(rows), len(j.Cells))
	}
	// The paired vectors per modality, in Compare's order (dataset index).
	vec := func(r *records.Run, mod string) []bool {
		var ss []records.ScoredSample
		for _, s := range r.Samples {
			if s.Modality == mod && s.ID != "99" {
				ss = append(ss, s)
			}
		}
		sort.Slice(ss, func(i, k int) bool { return ss[i].Index < ss[k].Index })
		out := make([]bool, len(ss))
		for i, s := range ss {
			out[i] = s.Correct["strict"]
		}
		return out
	}
	var ps []float64
	var allA, allB []bool
	for _, cell := range j.Cells[:3] {
		xa, xb := vec(a, cell.Modality), vec(b, cell.Modality)
		allA, allB = append(allA, xa...), append(allB, xb...)
		ps = append(ps, metrics.McNemarExact(cell.B, cell.C))
		checkCell(t, cell, xa, xb, j)
	}
	checkCell(t, j.Cells[3], allA, allB, j)
	for i, p := range metrics.Holm(ps) {
		if j.Cells[i].PHolm != p {
			t.Errorf("%s: Holm p %v, metrics.Holm %v", j.Cells[i].Modality, j.Cells[i].PHolm, p)
		}
	}
	if pooled := j.Cells[3]; !pooled.Pooled || pooled.Modality != "all" || pooled.PHolm != pooled.P || j.Cells[0].Pooled {
		t.Errorf("pooled cell: %+v", pooled)
	}
	if ct, xr := j.Cells[1], j.Cells[2]; ct.Verdict != "better" || ct.VerdictText != "B better" || xr.MDE != nil || xr.Verdict != "none" {
		t.Errorf("CT verdict %q/%q, Xray (no discordance) MDE %v verdict %q", ct.Verdict, ct.VerdictText, xr.MDE, xr.Verdict)
	}
	if !strings.Contains(buf.String(), `"mde": null`) {
		t.Errorf("an undefined MDE is not null:\n%s", buf.String())
	}
	// Against the Markdown, cell by cell.
	for i, cell := range j.Cells {
		mdRow := rows[i]
		mod := cell.Modality
		if cell.Pooled {
			mod = "**all**"
		}
		mde := "—"
		if cell.MDE != nil {
			mde = fmt.Sprintf("%.1f pp", 100**cell.MDE)
		}
		want := []string{mod, strconv.Itoa(cell.N), fmt.Sprintf("%.2f", 100*cell.AccA), fmt.Sprintf("%.2f", 100*cell.AccB),
			fmt.Sprintf("%+.2f", 100*cell.Delta), fmt.Sprintf("[%+.2f, %+.2f]", 100*cell.CILow, 100*cell.CIHigh),
			strconv.Itoa(cell.B), strconv.Itoa(cell.C), fmtPval(cell.P), fmtPval(cell.PHolm), mde, cell.VerdictText}
		if strings.Join(mdRow, "|") != strings.Join(want, "|") {
			t.Errorf("row %d:\n markdown %q\n json     %q", i, mdRow, want)
		}
	}
}

func checkCell(t *testing.T, cell CompareCell, xa, xb []bool, j CompareJSON) {
	t.Helper()
	b, c := metrics.Discordant(xa, xb)
	delta, lo, hi := metrics.PairedBootstrap(xa, xb, j.Resamples, j.Seed, j.CILevel)
	ka, kb := 0, 0
	for i := range xa {
		ka += b2i(xa[i])
		kb += b2i(xb[i])
	}
	n := len(xa)
	if cell.N != n || cell.B != b || cell.C != c || cell.P != metrics.McNemarExact(b, c) ||
		cell.AccA != float64(ka)/float64(n) || cell.AccB != float64(kb)/float64(n) ||
		cell.Delta != delta || cell.CILow != lo || cell.CIHigh != hi {
		t.Errorf("%s: %+v; want n %d b %d c %d p %v acc %v %v Δ %v [%v, %v]", cell.Modality, cell, n, b, c,
			metrics.McNemarExact(b, c), float64(ka)/float64(n), float64(kb)/float64(n), delta, lo, hi)
	}
	mde := metrics.MDE(n, float64(b+c)/float64(n), j.Alpha, j.Power)
	if math.IsInf(mde, 1) != (cell.MDE == nil) || cell.MDE != nil && *cell.MDE != mde {
		t.Errorf("%s: MDE %v, metrics.MDE %v", cell.Modality, cell.MDE, mde)
	}
}
