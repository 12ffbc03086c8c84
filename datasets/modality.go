package datasets

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/medbench/medbench/internal/utf8bom"
)

// Canonical modality names, in report order.
const (
	MRI        = "MRI"
	CT         = "CT"
	Xray       = "Xray"
	Ultrasound = "Ultrasound"
	Dermoscopy = "Dermoscopy"
	Microscopy = "Microscopy"
	Fundus     = "Fundus"
	OCT        = "OCT"
)

// Modalities lists the canonical modalities in report order. The first seven
// are the values accepted by the seed's --modality flag
// (src/eval/test_qwen2vl_med.py); OCT is OmniMedVQA's eighth modality.
var Modalities = []string{MRI, CT, Xray, Ultrasound, Dermoscopy, Microscopy, Fundus, OCT}

// OmniMedVQA subset (modality_type) strings, byte for byte, typos included.
//
// Sources:
//   - MR, CT, X-Ray: the seed's MRI_CT_XRAY_300each_dataset.json and
//     grpo.py lines 227-280 (filters on exactly these three strings), both
//     in github.com/JZPeterPan/MedVLM-R1; docs/reference/medvlm-r1-seed.md#data.
//   - The other five were not in the seed. They were read from third-party
//     code that filters OmniMedVQA's modality_type field (found in the public
//     code store, not in OmniMedVQA's own repository): a torchtune-based
//     OmniMedVQA evaluator's list ['CT(Computed Tomography)', 'X-Ray',
//     'Dermoscopy', 'Fundus Photography', 'OCT (Optical Coherence Tomography',
//     'ultrasound', 'MR (Mag-netic Resonance Imaging)', 'Microscopy Images'],
//     a SLURM driver for a BLIP-2 zero-shot run with the same eight strings
//     (commented "Check if trailing parenthesis is missing"), a plotting
//     script's MODALITY_ABBREV and Med-R1 derivatives' split files named
//     "Splits/modality/test/<subset>_test.json" (e.g.
//     "OCT (Optical Coherence Tomography_test.json", "ultrasound_test.json").
//     Four independent files agree, including the lower-case "ultrasound" and
//     the missing ")" after OCT; OmniMedVQA's own JSON files were not
//     available to check directly.
const (
	SubsetMRI        = "MR (Mag-netic Resonance Imaging)"
	SubsetCT         = "CT(Computed Tomography)"
	SubsetXray       = "X-Ray"
	SubsetUltrasound = "ultrasound"
	SubsetDermoscopy = "Dermoscopy"
	SubsetMicroscopy = "Microscopy Images"
	SubsetFundus     = "Fundus Photography"
	SubsetOCT        = "OCT (Optical Coherence Tomography"
)

// SubsetOf returns the OmniMedVQA subset string of a canonical modality.
func SubsetOf(modality string) (string, bool) {
	switch modality {
	case MRI:
		return SubsetMRI, true
	case CT:
		return SubsetCT, true
	case Xray:
		return SubsetXray, true
	case Ultrasound:
		return SubsetUltrasound, true
	case Dermoscopy:
		return SubsetDermoscopy, true
	case Microscopy:
		return SubsetMicroscopy, true
	case Fundus:
		return SubsetFundus, true
	case OCT:
		return SubsetOCT, true
	}
	return "", false
}

// ModalityMap maps a record's subset string (exact, case-sensitive) to a
// modality name. The default map knows the eight OmniMedVQA subsets and the
// canonical names themselves; a map file may add subsets or remap them, also
// to modality names outside the canonical eight.
type ModalityMap map[string]string

// DefaultModalityMap returns a fresh copy of the built-in map.
func DefaultModalityMap() ModalityMap {
	m := ModalityMap{}
	for _, mod := range Modalities {
		s, _ := SubsetOf(mod)
		m[s] = mod
		m[mod] = mod
	}
	return m
}

// LoadModalityMap reads a JSON object {"subset string": "Modality", ...} and
// returns the default map with those entries added or overriding. Values that
// name a canonical modality case-insensitively are normalized to its spelling.
func LoadModalityMap(path string) (ModalityMap, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("datasets: modality map: %w", err)
	}
	var entries map[string]string
	dec := json.NewDecoder(bytes.NewReader(utf8bom.Trim(b)))
	if err := dec.Decode(&entries); err != nil {
		return nil, fmt.Errorf("datasets: modality map %s: want a JSON object of strings: %w", path, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("datasets: modality map %s: trailing data after the JSON object", path)
	}
	m := DefaultModalityMap()
	keys := make([]string, 0, len(entries))
	for k := range entries {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := strings.TrimSpace(entries[k])
		if k == "" || v == "" {
			return nil, fmt.Errorf("datasets: modality map %s: entry %q: empty subset or modality", path, k)
		}
		if c, ok := canonicalName(v); ok {
			v = c
		}
		m[k] = v
	}
	return m, nil
}

// Canonical maps a subset string to its modality. An unknown subset is an
// error that lists the known subsets.
func (m ModalityMap) Canonical(subset string) (string, error) {
	if mod, ok := m[subset]; ok {
		return mod, nil
	}
	known := make([]string, 0, len(m))
	for k := range m {
		known = append(known, fmt.Sprintf("%q", k))
	}
	sort.Strings(known)
	return "", fmt.Errorf("datasets: unknown subset %q (known: %s; add it with --modality-map FILE)", subset, strings.Join(known, ", "))
}

// Names returns the distinct modality names the map produces: canonical ones
// in report order, then others sorted.
func (m ModalityMap) Names() []string {
	seen := map[string]bool{}
	for _, v := range m {
		seen[v] = true
	}
	return orderModalities(seen)
}

// Canonical maps a subset string with the default map.
func Canonical(subset string) (string, error) { return DefaultModalityMap().Canonical(subset) }

// ParseModality resolves a user-typed modality name: a canonical name in any
// case, or a common alias (MR, X-Ray, US, ...). Other names are returned
// as given, so that custom modalities from a map file can be selected.
func ParseModality(name string) string {
	if c, ok := canonicalName(name); ok {
		return c
	}
	return strings.TrimSpace(name)
}

func canonicalName(name string) (string, bool) {
	n := strings.ToLower(strings.TrimSpace(name))
	for _, mod := range Modalities {
		if strings.ToLower(mod) == n {
			return mod, true
		}
	}
	switch n {
	case "mr", "magnetic resonance imaging":
		return MRI, true
	case "x-ray", "x_ray", "cxr":
		return Xray, true
	case "us":
		return Ultrasound, true
	case "derm":
		return Dermoscopy, true
	case "micro":
		return Microscopy, true
	case "fp":
		return Fundus, true
	}
	return "", false
}

// orderModalities returns the set's names, canonical first in report order,
// then the rest sorted.
func orderModalities(set map[string]bool) []string {
	var out, rest []string
	for _, mod := range Modalities {
		if set[mod] {
			out = append(out, mod)
		}
	}
	for k := range set {
		if !slices.Contains(Modalities, k) {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	return append(out, rest...)
}
