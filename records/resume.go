package records

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
)

// ResultField is one manifest setting that can change a recorded output or
// its score. Value is what resume compares (after a JSON round trip).
type ResultField struct {
	Name  string
	Value any
}

// ResultConfigKeys are the Manifest.Config keys that can change an output:
// the selection (limit, select, modality, format, parquet columns, modality
// map), the image bounds, the decoding preset, the weights variant and device,
// and the handling of invalid items. Other keys (batch, runner flag
// spelling, shard bookkeeping) do not change what a sample records.
var ResultConfigKeys = []string{
	"limit", "select", "modality", "format", "columns", "modality_map",
	"max_pixels", "min_pixels", "preset", "dtype", "device", "invalid_items",
}

// ResultFields lists, in one place, every manifest setting that can change
// a sample's recorded output or score: resume requires each to be equal.
//
// The model is compared by content: runner.files holds each model file's
// sha256 by its path relative to the model folder, so the same folder
// spelled "model/" or "/abs/model" is the same model; runner.model (the path)
// is compared only when a runner records no file hashes. Images are compared
// by content too: dataset.images_sha256 digests every selected image, and
// each sample records its own image sha256.
func ResultFields(m Manifest) []ResultField {
	model := any(m.Runner.Model)
	if len(m.Runner.Files) > 0 {
		model = nil
	}
	settings := map[string]any{}
	for k, v := range m.Runner.Settings {
		if k != "device_note" { // prose about the device, not a setting
			settings[k] = v
		}
	}
	out := []ResultField{
		{"dataset.sha256", m.Dataset.SHA256},
		{"dataset.selection", m.Dataset.Selection},
		{"dataset.modalities", m.Dataset.Modalities},
		{"dataset.n", m.Dataset.N},
		{"dataset.images_sha256", m.Dataset.ImagesSHA256},
		{"prompts", m.Prompts},
		{"policies", m.Policies},
		{"runner.name", m.Runner.Name},
		{"runner.model", model},
		{"runner.files", m.Runner.Files},
		{"runner.device", m.Runner.Device},
		{"sampling", m.Sampling},
		{"seed", m.Seed},
	}
	for _, k := range ResultConfigKeys {
		out = append(out, ResultField{"config." + k, m.Config[k]})
	}
	// Last: the runner's resolved settings repeat several of the above
	// (sampling, pixel bounds), which name the cause more plainly.
	return append(out, ResultField{"runner.settings", settings})
}

// Compatible reports whether a run recorded with manifest old may be
// continued under manifest m: every ResultFields entry must be equal. The
// error names the first differing key (down to the map key inside a field,
// e.g. runner.settings.max_pixels) and both values, uncut.
func Compatible(old, m Manifest) error {
	a, b := ResultFields(old), ResultFields(m)
	for i := range a {
		x, err := normalize(a[i].Value)
		if err != nil {
			return err
		}
		y, err := normalize(b[i].Value)
		if err != nil {
			return err
		}
		if name, xv, yv, differ := diff(a[i].Name, x, y); differ {
			return fmt.Errorf("manifest field %s differs: recorded %s, now %s", name, show(xv), show(yv))
		}
	}
	return nil
}

// diff finds the first difference between two normalized JSON values,
// descending into objects so that the name is the innermost differing key.
func diff(name string, a, b any) (string, any, any, bool) {
	if reflect.DeepEqual(a, b) {
		return "", nil, nil, false
	}
	ma, okA := a.(map[string]any)
	mb, okB := b.(map[string]any)
	if okA && okB {
		keys := map[string]bool{}
		for k := range ma {
			keys[k] = true
		}
		for k := range mb {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			if n, x, y, d := diff(name+"."+k, ma[k], mb[k]); d {
				return n, x, y, true
			}
		}
	}
	return name, a, b, true
}

// normalize round-trips v through JSON so that values decoded from a file
// and values built in memory compare equal.
func normalize(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("records: %w", err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("records: %w", err)
	}
	return out, nil
}

// show renders a value for a mismatch message in full; absent is "(absent)".
func show(v any) string {
	if v == nil {
		return "(absent)"
	}
	b, _ := json.Marshal(v)
	return string(b)
}
