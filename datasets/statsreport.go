package datasets

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/jedib0t/go-pretty/v6/table"
)

// StatsOptions configures WriteStats.
type StatsOptions struct {
	// Load says how the dataset file is read.
	Load LoadOptions
	// Selection forms the per-modality sets; Modalities picks them ("all").
	Selection  Selection
	Modalities []string
	// JSON writes one indented JSON object instead of the tables.
	JSON bool
}

// WriteStats loads a dataset, selects its modalities and writes their
// statistics and the seed-slice agreement to w, as tables or as JSON.
func WriteStats(w io.Writer, path string, opts StatsOptions) error {
	items, err := Load(path, opts.Load)
	if err != nil {
		return err
	}
	agreement := SelectionAgreement(items)
	selected, err := Select(items, opts.Selection, opts.Modalities)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	st := ComputeStats(selected)
	if opts.JSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{
			"file": path, "select": opts.Selection, "stats": st,
			"selection_agreement": agreement, "selections_agree": AllAgree(agreement),
		})
	}
	writeStatsTables(w, path, opts.Selection, st, agreement)
	return nil
}

func writeStatsTables(w io.Writer, path string, sel Selection, st Stats, ag []SliceAgreement) {
	letterSet := map[string]bool{}
	for _, m := range append(st.ByModality, st.Total) {
		for l := range m.Letters {
			letterSet[l] = true
		}
	}
	letters := slices.Sorted(maps.Keys(letterSet))
	t := table.NewWriter()
	t.SetOutputMirror(w)
	t.SetTitle(fmt.Sprintf("%s (selection: %s)", path, sel))
	hdr := table.Row{"modality", "n", "options/item"}
	for _, l := range letters {
		hdr = append(hdr, l)
	}
	hdr = append(hdr, "random guess %", "majority letter %")
	t.AppendHeader(hdr)
	row := func(m ModalityStats) table.Row {
		r := table.Row{m.Modality, m.N, optionsHist(m.OptionsPerItem)}
		for _, l := range letters {
			r = append(r, m.Letters[l])
		}
		return append(r, fmt.Sprintf("%.2f", m.RandomGuessPct), fmt.Sprintf("%.2f (%s)", m.MajorityPct, m.MajorityLetter))
	}
	for _, m := range st.ByModality {
		t.AppendRow(row(m))
	}
	t.AppendFooter(row(st.Total))
	t.Render()

	a := table.NewWriter()
	a.SetOutputMirror(w)
	a.SetTitle("seed slices vs subset selection")
	a.AppendHeader(table.Row{"modality", "slice", "records in slice", "records by subset", "in both", "agree"})
	for _, x := range ag {
		a.AppendRow(table.Row{x.Modality, fmt.Sprintf("[%d:%d]", x.Lo, x.Hi), x.InSlice, x.BySubset, x.Both, yesNo(x.Agree)})
	}
	a.Render()
}

// optionsHist renders options-per-item counts, most options first: "3×4 + 1×2".
func optionsHist(h map[int]int) string {
	ks := slices.Sorted(maps.Keys(h))
	slices.Reverse(ks)
	parts := make([]string, len(ks))
	for i, k := range ks {
		parts[i] = fmt.Sprintf("%d×%d", h[k], k)
	}
	return strings.Join(parts, " + ")
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// WriteTable writes the map as a table of quoted subset strings and their
// modalities, grouped by modality in report order, subsets sorted within.
func (m ModalityMap) WriteTable(w io.Writer) {
	keys := slices.Collect(maps.Keys(m))
	order := map[string]int{}
	for i, mod := range m.Names() {
		order[mod] = i
	}
	sort.Slice(keys, func(i, j int) bool {
		if oi, oj := order[m[keys[i]]], order[m[keys[j]]]; oi != oj {
			return oi < oj
		}
		return keys[i] < keys[j]
	})
	t := table.NewWriter()
	t.SetOutputMirror(w)
	t.AppendHeader(table.Row{"subset", "modality"})
	for _, k := range keys {
		t.AppendRow(table.Row{strconv.Quote(k), m[k]})
	}
	t.Render()
}
