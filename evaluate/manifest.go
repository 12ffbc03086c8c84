package evaluate

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/medbench/medbench/datasets"
	"github.com/medbench/medbench/internal/filehash"
	"github.com/medbench/medbench/metrics"
	"github.com/medbench/medbench/records"
	"github.com/medbench/medbench/runners"
)

// ManifestSpec is what a run manifest is built from (NewManifest).
type ManifestSpec struct {
	// Version and GitCommit identify the medbench build.
	Version, GitCommit string
	// Command is the invocation, as the user typed it (before --model
	// hf:... was resolved).
	Command []string
	// DataPath, Images and Selection name the dataset file, its images root
	// and how test sets were formed; Samples are the selected items.
	DataPath, Images string
	Selection        datasets.Selection
	Samples          []datasets.Item
	// ModalityMapPath is the --modality-map file ("" for the default map),
	// recorded by its sha256.
	ModalityMapPath string
	Runner          runners.Info
	Prompts         []datasets.Template
	Policies        []metrics.Policy
	Seed            uint64
	// Sampling is the runner's decoding; nil for a runner that reads
	// recorded outputs.
	Sampling *runners.Sampling
	// Config are the run's settings (command and runner flags); the
	// modality map's digest is added as "modality_map".
	Config map[string]any
}

// NewManifest builds a run's manifest.json: the build, the host, the
// dataset (by its sha256), the runner, prompts, policies, decoding and the
// settings. Errors name the file that could not be read.
func NewManifest(s ManifestSpec) (records.Manifest, error) {
	sum, err := FileSHA256(s.DataPath)
	if err != nil {
		return records.Manifest{}, err
	}
	mmSum := ""
	if s.ModalityMapPath != "" {
		if mmSum, err = FileSHA256(s.ModalityMapPath); err != nil {
			return records.Manifest{}, err
		}
	}
	cfg := map[string]any{"modality_map": mmSum}
	for k, v := range s.Config {
		cfg[k] = v
	}
	h, _ := os.Hostname()
	m := records.Manifest{
		SchemaVersion: records.SchemaVersion,
		Medbench:      s.Version,
		GitCommit:     s.GitCommit,
		Command:       s.Command,
		Started:       time.Now().UTC(),
		Host:          records.Host{Hostname: h, OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU(), Go: runtime.Version()},
		Dataset: records.Dataset{Path: s.DataPath, SHA256: sum, Images: s.Images, Selection: string(s.Selection),
			Modalities: modalitiesOf(s.Samples), N: len(s.Samples)},
		Runner:   s.Runner,
		Prompts:  PromptInfos(s.Prompts),
		Policies: metrics.PolicyIDs(s.Policies),
		Seed:     s.Seed,
		Config:   cfg,
	}
	if s.Sampling != nil {
		b, _ := json.Marshal(*s.Sampling)
		_ = json.Unmarshal(b, &m.Sampling)
	}
	return m, nil
}

// FileSHA256 is a file's sha256 in hex.
func FileSHA256(path string) (string, error) {
	sum, err := filehash.SHA256(path)
	if err != nil {
		return "", fmt.Errorf("eval: %w", err)
	}
	return sum, nil
}

// modalitiesOf lists the items' modalities in first-seen order.
func modalitiesOf(samples []datasets.Item) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range samples {
		if !seen[s.Modality] {
			seen[s.Modality] = true
			out = append(out, s.Modality)
		}
	}
	return out
}

// LimitPerModality keeps the first n items of each modality (n <= 0: all).
func LimitPerModality(samples []datasets.Item, n int) []datasets.Item {
	if n <= 0 {
		return samples
	}
	count := map[string]int{}
	var out []datasets.Item
	for _, s := range samples {
		if count[s.Modality] < n {
			count[s.Modality]++
			out = append(out, s)
		}
	}
	return out
}
