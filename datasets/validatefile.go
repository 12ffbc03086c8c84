package datasets

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
)

// ValidateOptions configures ValidateFile.
type ValidateOptions struct {
	// ImagesRoot is joined to relative image paths; empty means the dataset
	// file's folder.
	ImagesRoot string
	// Columns maps parquet columns (zero value: Hugging Face defaults).
	Columns ColumnMap
	// Modalities maps subsets to modalities.
	Modalities ModalityMap
	// Images says how image files are checked.
	Images ImageCheck
	// JSON writes one indented JSON object {"file", "ok", "problems"}
	// instead of one line per problem and a final "FILE: ok".
	JSON bool
}

// ProblemsError is ValidateFile's error when the dataset has problems (as
// opposed to being unreadable): the report has been written.
type ProblemsError struct {
	Path     string
	Problems int
	Records  int
}

func (e *ProblemsError) Error() string {
	return fmt.Sprintf("%s: %d problem(s) in %d record(s)", e.Path, e.Problems, e.Records)
}

// ValidateFile validates a JSON or parquet dataset (by extension, as Load
// reads it) and writes the report to w: text, one "FILE: problem" line per
// problem or "FILE: ok", or with opts.JSON one JSON object. It returns a
// *ProblemsError when there are problems and another error when the file
// cannot be validated at all.
func ValidateFile(ctx context.Context, w io.Writer, path string, opts ValidateOptions) error {
	var probs []Problem
	var err error
	if IsParquetPath(path) {
		probs, err = ValidateParquetWithOptions(ctx, path, opts.Columns, opts.ImagesRoot, opts.Modalities, opts.Images)
	} else {
		probs, err = ValidateWithOptions(ctx, path, opts.ImagesRoot, opts.Modalities, opts.Images)
	}
	if err != nil {
		return err
	}
	if opts.JSON {
		if probs == nil {
			probs = []Problem{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(map[string]any{"file": path, "ok": len(probs) == 0, "problems": probs}); err != nil {
			return err
		}
	} else {
		for _, p := range probs {
			fmt.Fprintf(w, "%s: %s\n", path, p)
		}
	}
	if len(probs) > 0 {
		return &ProblemsError{Path: path, Problems: len(probs), Records: len(InvalidByIndex(probs))}
	}
	if !opts.JSON {
		fmt.Fprintf(w, "%s: ok\n", path)
	}
	return nil
}
