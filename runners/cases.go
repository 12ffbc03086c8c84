package runners

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/medbench/medbench/internal/utf8bom"
)

// Case is one prompt of `medbench tools generate`, in the format of
// testtools/tjs-peer.mjs: an optional image and the user text after it.
type Case struct {
	Image string `json:"image,omitempty"`
	Text  string `json:"text"`
}

// ReadCases reads a JSON array of cases from path.
func ReadCases(path string) ([]Case, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var cases []Case
	if err := json.Unmarshal(utf8bom.Trim(b), &cases); err != nil {
		return nil, fmt.Errorf("%s: want a JSON array of {\"image\", \"text\"} cases: %w", path, err)
	}
	return cases, nil
}

// CasesFrom returns the cases of `medbench tools generate`: those of the
// file path (ReadCases), or the single case of image and text when path is
// ""; imageSet and textSet tell whether --image and --text were given.
func CasesFrom(path, image, text string, imageSet, textSet bool) ([]Case, error) {
	if path != "" {
		if imageSet || textSet {
			return nil, errors.New("give --cases or --image/--text, not both")
		}
		return ReadCases(path)
	}
	if !textSet {
		return nil, errors.New("give --cases FILE, or --text (and optionally --image)")
	}
	return []Case{{Image: image, Text: text}}, nil
}

// GenerateCases runs r on cases, batch at a time (request IDs are the case
// indices), and writes one JSON line {"ids": generated ids, "text": decoded
// text} per case to w, in the format of testtools/tjs-peer.mjs. An error of
// the runner's Generate call is returned as the runner gave it; a failed
// case and a failed write are errors prefixed with cmd.
func GenerateCases(ctx context.Context, cmd string, r Runner, cases []Case, batch int, w io.Writer) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for a := 0; a < len(cases); a += batch {
		b := min(a+batch, len(cases))
		reqs := make([]Request, 0, b-a)
		for i := a; i < b; i++ {
			q := Request{ID: fmt.Sprint(i), Prompt: "generate", Text: cases[i].Text}
			if cases[i].Image != "" {
				q.Images = []Image{{Path: cases[i].Image}}
			}
			reqs = append(reqs, q)
		}
		res, err := r.Generate(ctx, reqs)
		if err != nil {
			return err
		}
		for i, x := range res {
			if x.Err != nil {
				return fmt.Errorf("%s: case %d: %w", cmd, a+i, x.Err)
			}
			ids := x.TokenIDs
			if ids == nil {
				ids = []int{}
			}
			if err := enc.Encode(struct {
				IDs  []int  `json:"ids"`
				Text string `json:"text"`
			}{ids, x.Text}); err != nil {
				return fmt.Errorf("%s: write: %w", cmd, err)
			}
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("%s: write: %w", cmd, err)
	}
	return nil
}
