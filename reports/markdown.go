package reports

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/medbench/medbench/records"
)

func markdown(in Input, names []string, paper *paperTable, tables []tableData, figs []figure, gallery []galleryItem, outDir string) string {
	var b strings.Builder
	title := in.Title
	if title == "" {
		title = "medbench report"
	}
	fmt.Fprintf(&b, "# %s\n\n", title)
	if in.Version != "" {
		fmt.Fprintf(&b, "Written by medbench %s.\n\n", in.Version)
	}
	for _, g := range verdictGroups(in.Verdicts) {
		check := ""
		if g.Check != "" {
			check = " — " + g.Check
		}
		fmt.Fprintf(&b, "**Verdict: %s**%s: %s.\n\n", overall(g.Rows), mdEscape(check), verdictLine(g.Rows))
	}
	if paper != nil {
		fmt.Fprintf(&b, "## Accuracy per modality\n\n%s\n", paper.markdown())
	}
	if len(in.Comparisons) > 0 {
		fmt.Fprintf(&b, "## Paired differences\n\n%s\n", buildDeltaSummary(in.Comparisons).markdown())
	}
	for i, r := range in.Runs {
		fmt.Fprintf(&b, "## Run: %s\n\n", names[i])
		for _, kv := range runFacts(r) {
			fmt.Fprintf(&b, "- **%s:** %s\n", kv[0], mdEscape(kv[1]))
		}
		b.WriteString("\n")
	}
	for _, t := range tables {
		if t.Name != "accuracy" {
			fmt.Fprintf(&b, "## %s\n\n%s\n\n", t.Title, t.Markdown())
		}
	}
	for _, c := range in.Comparisons {
		if c.Note != "" {
			fmt.Fprintf(&b, "_%s: %s_\n\n", c.Title, c.Note)
		}
	}
	if len(figs) > 0 {
		b.WriteString("## Plots\n\n")
		for _, f := range figs {
			rel, err := filepath.Rel(outDir, f.Path)
			if err != nil {
				rel = f.Path
			}
			fmt.Fprintf(&b, "![%s](%s)\n\n_%s_\n\n", filepath.Base(f.Path), filepath.ToSlash(rel), f.Caption)
		}
	}
	if len(gallery) > 0 {
		b.WriteString("## Sample gallery\n\n")
		for _, g := range gallery {
			if g.Discordant != nil {
				d := g.Discordant
				fmt.Fprintf(&b, "### %s · %s · sample %s (discordant)\n\n%s\n\n- A (%s): `%s`\n- B (%s): `%s`\n- solution: %s\n\n",
					g.Run, d.Modality, d.ID, mdEscape(d.Question), rightWrong(d.CorrectA), mdCode(d.OutputA), rightWrong(d.CorrectB), mdCode(d.OutputB), d.Solution)
				continue
			}
			s := g.Sample
			fmt.Fprintf(&b, "### %s · %s · %s prompt · sample %s\n\n%s\n\n- output: `%s`\n- extraction (%s): %s — %s\n\n",
				g.Run, s.Modality, s.Prompt, s.ID, mdEscape(s.Question), mdCode(s.Output), g.Policy, extractionText(s, g.Policy), correctText(s, g.Policy))
		}
	}
	for _, t := range tables {
		if t.Name == "accuracy" {
			fmt.Fprintf(&b, "## Appendix: %s\n\n%s\n\n", t.Title, t.Markdown())
		}
	}
	return b.String()
}

func rightWrong(ok bool) string {
	if ok {
		return "correct"
	}
	return "wrong"
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", "  \n").Replace(s)
}

func mdCode(s string) string {
	s = strings.ReplaceAll(s, "`", "'")
	s = strings.ReplaceAll(s, "\n", "⏎")
	return truncateRunes(s, 400)
}

func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

func extractionText(s records.ScoredSample, policy string) string {
	if s.Error != "" {
		return "failed: " + s.Error
	}
	if e, ok := s.Extractions[policy]; ok && e != nil {
		return *e
	}
	return "none"
}

func correctText(s records.ScoredSample, policy string) string {
	if s.Correct[policy] {
		return "correct (solution " + s.Solution + ")"
	}
	return "wrong (solution " + s.Solution + ")"
}

func verdictCounts(vs []VerdictRow) (pass, fail int) {
	for _, v := range vs {
		if v.Status == "pass" {
			pass++
		} else {
			fail++
		}
	}
	return
}

func overall(vs []VerdictRow) string {
	if _, fail := verdictCounts(vs); fail > 0 {
		return "REGRESSION"
	}
	return "PASS"
}

// runFacts lists a run's identifying facts for the title page.
func runFacts(r *records.Run) [][2]string {
	m := r.Manifest
	var kv [][2]string
	add := func(k, v string) {
		if v != "" {
			kv = append(kv, [2]string{k, v})
		}
	}
	add("model", m.Runner.Model)
	add("runner", m.Runner.Name)
	add("runtime", m.Runner.Runtime)
	add("device", m.Runner.Device)
	if files := m.Runner.Files; len(files) > 0 {
		keys := make([]string, 0, len(files))
		for k := range files {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s sha256:%s", k, shortHash(str(files[k]))))
		}
		add("model files", strings.Join(parts, "; "))
	}
	add("dataset", m.Dataset.Path)
	add("dataset sha256", m.Dataset.SHA256)
	if m.Dataset.N > 0 {
		add("samples", fmt.Sprintf("%d (selection %s; modalities %s)", m.Dataset.N, m.Dataset.Selection, strings.Join(m.Dataset.Modalities, ", ")))
	}
	var ps []string
	for _, p := range m.Prompts {
		ps = append(ps, p.Name)
	}
	add("prompts", strings.Join(ps, ", "))
	add("scoring policies", strings.Join(m.Policies, ", "))
	if len(m.Sampling) > 0 {
		keys := make([]string, 0, len(m.Sampling))
		for k := range m.Sampling {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s=%v", k, m.Sampling[k]))
		}
		add("sampling", strings.Join(parts, ", "))
	}
	add("seed", fmt.Sprint(m.Seed))
	add("host", fmt.Sprintf("%s (%s/%s, %d CPUs, %s)", m.Host.Hostname, m.Host.OS, m.Host.Arch, m.Host.CPUs, m.Host.Go))
	if !m.Started.IsZero() {
		span := m.Started.UTC().Format("2006-01-02 15:04:05Z")
		if !m.Finished.IsZero() {
			span += " → " + m.Finished.UTC().Format("15:04:05Z")
		}
		add("time", span)
	}
	add("medbench", strings.TrimSpace(m.Medbench+" "+m.GitCommit))
	return kv
}

func str(v any) string {
	if v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

func shortHash(h string) string {
	if len(h) > 16 {
		return h[:16] + "…"
	}
	return h
}
