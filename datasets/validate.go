package datasets

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"sort"
	"strings"

	// Image formats whose headers Validate can read.
	_ "image/gif"
	_ "image/jpeg"
	_ "image/png"

	_ "golang.org/x/image/bmp"
	_ "golang.org/x/image/tiff"
	_ "golang.org/x/image/webp"
)

// Validate checks a seed-schema JSON file with the default modality map. See
// ValidateWithMap.
func Validate(ctx context.Context, path, imagesRoot string) ([]Problem, error) {
	return ValidateWithMap(ctx, path, imagesRoot, DefaultModalityMap())
}

// ValidateWithMap reports every problem in a dataset file, each with its
// record index: malformed or truncated JSON (with the byte offset), invalid
// UTF-8, missing, unknown or mistyped fields, empty or duplicate options, an
// answer that is not an option, a solution letter that disagrees with
// options/answer, a problem text that is not question + lettered options, an
// unknown subset, a missing or undecodable image and an image used by two
// records. It returns an error only when the file cannot be read or is not a
// JSON array at all. An empty imagesRoot means the JSON file's folder.
func ValidateWithMap(ctx context.Context, path, imagesRoot string, mm ModalityMap) ([]Problem, error) {
	return ValidateWithOptions(ctx, path, imagesRoot, mm, ImageCheck{})
}

// ValidateWithOptions is ValidateWithMap with the image check ic (a full
// decode of every image with ic.Decode).
func ValidateWithOptions(ctx context.Context, path, imagesRoot string, mm ModalityMap, ic ImageCheck) ([]Problem, error) {
	recs, probs, err := readRecordFile(path)
	if err != nil {
		return nil, err
	}
	return checkRecords(ctx, path, imagesRoot, probs, len(recs), func(i int) (Record, map[string]bool, [][]byte) {
		return recs[i].rec, recs[i].bad, nil
	}, "record", true, mm, ic)
}

// checkRecords appends to probs (a file's structural problems) the content
// problems of its n records (at returns record i, its mistyped fields and
// its embedded image bytes, nil for an image read from its path) and those
// of their images, checked once each under imagesRoot (empty: path's
// folder); an image used again is a duplicate naming the unit ("record",
// "row") that used it first. With skipEmpty, empty image names (which
// checkContent reports) are not checked. The problems come back sorted.
func checkRecords(ctx context.Context, path, imagesRoot string, probs []Problem, n int, at func(i int) (Record, map[string]bool, [][]byte), unit string, skipEmpty bool, mm ModalityMap, ic ImageCheck) ([]Problem, error) {
	if imagesRoot == "" {
		imagesRoot = filepath.Dir(path)
	}
	firstUse := map[string]int{}
	var jobs []imageJob
	for i := range n {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("datasets: validate %s: %w", path, err)
		}
		rec, bad, embedded := at(i)
		probs = append(probs, checkContent(i, rec, bad, mm)...)
		if bad["image"] {
			continue
		}
		for j, img := range rec.Image {
			if skipEmpty && img == "" {
				continue
			}
			if first, ok := firstUse[img]; ok {
				probs = append(probs, Problem{Index: i, Field: "image", Msg: fmt.Sprintf("duplicate: %q is also the image of %s %d", img, unit, first)})
				continue
			}
			firstUse[img] = i
			job := imageJob{record: i, name: img, path: JoinImagePath(imagesRoot, img)}
			if j < len(embedded) && embedded[j] != nil {
				job.bytes = embedded[j]
			}
			jobs = append(jobs, job)
		}
	}
	ip, err := checkImages(ctx, jobs, ic)
	if err != nil {
		return nil, fmt.Errorf("datasets: validate %s: %w", path, err)
	}
	probs = append(probs, ip...)
	sortProblems(probs)
	return probs, nil
}

// checkContent checks one structurally parsed record's content; fields listed
// in bad had the wrong type and are skipped.
func checkContent(i int, r Record, bad map[string]bool, mm ModalityMap) []Problem {
	var probs []Problem
	add := func(field, format string, a ...any) {
		probs = append(probs, Problem{Index: i, Field: field, Msg: fmt.Sprintf(format, a...)})
	}
	if !bad["image"] {
		if len(r.Image) == 0 {
			add("image", "empty list, want one image path")
		}
		for j, p := range r.Image {
			if p == "" {
				add("image", "element %d is an empty path", j)
			}
		}
	}
	if !bad["question"] && strings.TrimSpace(r.Question) == "" {
		add("question", "empty")
	}
	optsOK := !bad["options"]
	if optsOK {
		switch {
		case len(r.Options) == 0:
			add("options", "empty list")
			optsOK = false
		case len(r.Options) == 1:
			add("options", "only one option")
		case len(r.Options) > MaxOptions:
			add("options", "%d options, at most %d (letters A..J)", len(r.Options), MaxOptions)
			optsOK = false
		}
		seen := map[string]int{}
		for j, o := range r.Options {
			if strings.TrimSpace(o) == "" {
				add("options", "option %s is empty", Letter(j))
			}
			if k, ok := seen[o]; ok {
				add("options", "option %s repeats option %s (%q)", Letter(j), Letter(k), o)
				continue
			}
			seen[o] = j
		}
	}
	letter, answerOK := "", false
	if optsOK && !bad["answer"] {
		letter, answerOK = SolutionLetter(r.Options, r.Answer)
		if !answerOK {
			add("answer", "%q is not one of the options", r.Answer)
		}
	}
	if !bad["solution"] {
		switch {
		case len(r.Solution) != 1 || r.Solution[0] < 'A' || r.Solution[0] >= 'A'+MaxOptions:
			add("solution", "%q is not a single letter A..J", r.Solution)
		case optsOK && int(r.Solution[0]-'A') >= len(r.Options):
			add("solution", "%q, but there are only %d options", r.Solution, len(r.Options))
		case answerOK && r.Solution != letter:
			add("solution", "%q, but the answer %q is option %s", r.Solution, r.Answer, letter)
		}
	}
	if !bad["problem"] && !bad["question"] && optsOK {
		if want := BuildProblem(r.Question, r.Options); r.Problem != want {
			add("problem", "differs from question + lettered options at byte %d (want %q)", firstDiff(r.Problem, want), want)
		}
	}
	if !bad["subset"] {
		if _, err := mm.Canonical(r.Subset); err != nil {
			add("subset", "%s", strings.TrimPrefix(err.Error(), "datasets: "))
		}
	}
	return probs
}

func firstDiff(a, b string) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// checkImageFile reads an image header; it returns "" when the file is a
// decodable image with a positive size, else what is wrong.
func checkImageFile(path string) string {
	f, err := os.Open(path)
	if err != nil {
		if os.IsNotExist(err) {
			return fmt.Sprintf("missing (%s)", path)
		}
		return fmt.Sprintf("unreadable: %v", err)
	}
	defer f.Close()
	return checkImageConfig(f, path)
}

// checkImageBytes is checkImageFile for embedded bytes.
func checkImageBytes(b []byte, name string) string {
	return checkImageConfig(bytes.NewReader(b), name)
}

func checkImageConfig(r interface{ Read([]byte) (int, error) }, name string) string {
	cfg, format, err := image.DecodeConfig(r)
	if err != nil {
		return fmt.Sprintf("not a decodable image (%s): %v", name, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return fmt.Sprintf("%s image has size %dx%d (%s)", format, cfg.Width, cfg.Height, name)
	}
	return ""
}

// sortProblems orders problems by record index (file-level ones first),
// keeping the order within a record.
func sortProblems(p []Problem) {
	sort.SliceStable(p, func(a, b int) bool { return p[a].Index < p[b].Index })
}

// ValidateParquet is ValidateWithMap for a parquet file read with cols:
// rows are checked like records, embedded images by decoding their header
// and referenced ones as files under imagesRoot (empty: the file's folder).
// Problem and solution columns, when absent, are built and so always agree.
func ValidateParquet(ctx context.Context, path string, cols ColumnMap, imagesRoot string, mm ModalityMap) ([]Problem, error) {
	return ValidateParquetWithOptions(ctx, path, cols, imagesRoot, mm, ImageCheck{})
}

// ValidateParquetWithOptions is ValidateParquet with the image check ic.
func ValidateParquetWithOptions(ctx context.Context, path string, cols ColumnMap, imagesRoot string, mm ModalityMap, ic ImageCheck) ([]Problem, error) {
	rows, probs, err := readParquet(path, cols)
	if err != nil {
		return nil, err
	}
	return checkRecords(ctx, path, imagesRoot, probs, len(rows), func(i int) (Record, map[string]bool, [][]byte) {
		return rows[i].rec, rows[i].bad, rows[i].bytes
	}, "row", false, mm, ic)
}

// CheckSamples runs on loaded samples the record checks Validate runs on a
// file (answer key, options, problem text, subset; not the image files):
// a solution letter outside the options, a lowercase letter, one that
// contradicts the answer text or empty options make an item that can never
// be scored right. Each problem's Index is the sample's record index. eval
// and train run this before anything is generated.
func CheckSamples(samples []Item, mm ModalityMap) []Problem {
	var probs []Problem
	for _, s := range samples {
		probs = append(probs, checkContent(s.Index, s.Record, nil, mm)...)
	}
	sortProblems(probs)
	return probs
}

// ProblemLines renders problems one line each, "FILE: record N: field ...:
// msg", at most limit lines (limit <= 0: all) followed by a line counting
// the rest.
func ProblemLines(path string, probs []Problem, limit int) string {
	var b strings.Builder
	for i, p := range probs {
		if limit > 0 && i == limit {
			fmt.Fprintf(&b, "... and %d more problem(s); `medbench dataset validate %s` lists them all\n", len(probs)-limit, path)
			break
		}
		fmt.Fprintf(&b, "%s: %s\n", path, p)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// InvalidByIndex groups problems by record index, each record's messages
// joined with "; " (the form samples.jsonl records as "invalid").
func InvalidByIndex(probs []Problem) map[int]string {
	out := map[int]string{}
	for _, p := range probs {
		msg := p.String()
		if p.Index >= 0 {
			msg = strings.TrimPrefix(msg, fmt.Sprintf("record %d: ", p.Index))
		}
		if prev, ok := out[p.Index]; ok {
			msg = prev + "; " + msg
		}
		out[p.Index] = msg
	}
	return out
}
