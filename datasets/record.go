// Package datasets loads, validates, converts and synthesizes multiple-choice
// medical VQA datasets in the schema used by MedVLM-R1's evaluation scripts.
package datasets

import "strconv"

// Record is one item in the seed's JSON schema (MRI_CT_XRAY_300each_dataset.json).
// Field order and JSON names match the seed file exactly.
type Record struct {
	Image    []string `json:"image"`
	Problem  string   `json:"problem"`
	Solution string   `json:"solution"`
	Question string   `json:"question"`
	Options  []string `json:"options"`
	Answer   string   `json:"answer"`
	Dataset  string   `json:"dataset"`
	Subset   string   `json:"subset"`
}

// Item is a Record resolved for evaluation: its position in the source,
// its canonical modality and where its image bytes come from.
type Item struct {
	// Index is the record's position in the source file (0-based).
	Index int
	// Modality is the canonical modality (MRI, CT, Xray, ...).
	Modality string
	Record   Record
	// ImagePaths are the image files, joined to the images root verbatim.
	ImagePaths []string
	// ImageBytes holds embedded image bytes (parquet sources); when non-nil it
	// takes precedence over ImagePaths, index by index.
	ImageBytes [][]byte
}

// ID is the item's stable identifier within its dataset: the record index.
func (s Item) ID() string { return strconv.Itoa(s.Index) }
