package evaluate

import (
	"github.com/medbench/medbench/datasets"
	"github.com/medbench/medbench/records"
)

// seedFormats gives records.Writer.Finish the answer format of each
// template, or nil when no seed-format files are wanted.
func seedFormats(ts []datasets.Template, want bool) records.SeedFormats {
	if !want {
		return nil
	}
	out := make(records.SeedFormats, len(ts))
	for _, t := range ts {
		out[t.Name] = t.Format
	}
	return out
}

// RecordedSeedFormats is seedFormats for the prompts a run manifest records
// (a merge rebuilding a run's seed-format files): each prompt's template is
// rebuilt from its name and text (datasets.RecordedTemplate), so that the
// files come out as the evaluation wrote them. A recorded text that is no
// valid template, which no evaluation writes, counts as tagged.
func RecordedSeedFormats(prompts []records.PromptInfo, want bool) records.SeedFormats {
	if !want {
		return nil
	}
	out := make(records.SeedFormats, len(prompts))
	for _, p := range prompts {
		t, err := datasets.RecordedTemplate(p.Name, p.Text)
		if err == nil {
			out[p.Name] = t.Format
		}
	}
	return out
}
