package datasets

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// ColumnMap names the parquet columns holding each seed field. Empty fields
// take the Hugging Face defaults (DefaultColumns): the column names of
// FreedomIntelligence/Medical_Multimodal_Evaluation_Data as exported by the
// `datasets` library.
//
// Options may also list several columns separated by commas (OmniMedVQA's
// "option_A,option_B,option_C,option_D"); empty or null ones are skipped.
// Problem and Solution are optional: when the column is absent or null they
// are built from question, options and answer as grpo.py's
// create_problem_solution does. Dataset is optional (empty when absent).
type ColumnMap struct {
	Image, Question, Options, Answer, Problem, Solution, Subset, Dataset string
}

// DefaultColumns returns the Hugging Face column names.
func DefaultColumns() ColumnMap {
	return ColumnMap{Image: "image", Question: "question", Options: "options", Answer: "answer",
		Problem: "problem", Solution: "solution", Subset: "subset", Dataset: "dataset"}
}

func (c ColumnMap) withDefaults() ColumnMap {
	d := DefaultColumns()
	set := func(dst *string, def string) {
		if *dst == "" {
			*dst = def
		}
	}
	set(&c.Image, d.Image)
	set(&c.Question, d.Question)
	set(&c.Options, d.Options)
	set(&c.Answer, d.Answer)
	set(&c.Problem, d.Problem)
	set(&c.Solution, d.Solution)
	set(&c.Subset, d.Subset)
	set(&c.Dataset, d.Dataset)
	return c
}

// pqRow is one parquet row mapped onto the seed schema. Images[j] is the
// path (from a string column or the struct's path) and Bytes[j] the embedded
// bytes, nil when the image is referenced by path only.
type pqRow struct {
	rec   Record
	bytes [][]byte
	bad   map[string]bool
}

// LoadParquet reads a parquet file with the default modality map. See
// LoadParquetWithMap.
func LoadParquet(path string, cols ColumnMap, imagesRoot string) ([]Item, error) {
	return LoadParquetWithMap(path, cols, imagesRoot, DefaultModalityMap())
}

// LoadParquetWithMap reads a parquet file whose columns cols names. The image
// column may hold bytes, a path string, an HF Image struct {bytes, path}, or
// a list of any of those. Embedded bytes go to Sample.ImageBytes; paths are
// joined to imagesRoot (empty: the parquet file's folder) with
// JoinImagePath. Rows whose problem/solution are absent get them built from
// question/options/answer. Errors name the file, the row and the column.
func LoadParquetWithMap(path string, cols ColumnMap, imagesRoot string, mm ModalityMap) ([]Item, error) {
	rows, probs, err := readParquet(path, cols)
	if err != nil {
		return nil, err
	}
	if len(probs) > 0 {
		return nil, fmt.Errorf("datasets: %s: %s", path, probs[0])
	}
	if imagesRoot == "" {
		imagesRoot = filepath.Dir(path)
	}
	out := make([]Item, len(rows))
	for i, r := range rows {
		s, err := resolve(i, r.rec, imagesRoot, mm)
		if err != nil {
			return nil, fmt.Errorf("datasets: %s: %w", path, err)
		}
		hasBytes := false
		for _, b := range r.bytes {
			hasBytes = hasBytes || b != nil
		}
		if hasBytes {
			s.ImageBytes = r.bytes
		}
		out[i] = s
	}
	return out, nil
}

// readParquet reads every row, collecting per-row problems (missing values,
// wrong types, answers not among the options). A file parquet-go cannot open
// is an error; parquet-go panics on some malformed files, which are turned
// into errors too.
func readParquet(path string, cols ColumnMap) (rows []pqRow, probs []Problem, err error) {
	cols = cols.withDefaults()
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("datasets: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("datasets: %w", err)
	}
	return readParquetFrom(f, st.Size(), path, cols)
}

func readParquetFrom(ra io.ReaderAt, size int64, name string, cols ColumnMap) (rows []pqRow, probs []Problem, err error) {
	defer func() {
		if r := recover(); r != nil {
			rows, probs, err = nil, nil, fmt.Errorf("datasets: %s: malformed parquet file: %v", name, r)
		}
	}()
	pf, err := parquet.OpenFile(ra, size)
	if err != nil {
		return nil, nil, fmt.Errorf("datasets: %s: not a readable parquet file: %w", name, err)
	}
	schema := pf.Schema()
	node := func(col string) parquet.Node {
		for _, f := range schema.Fields() {
			if f.Name() == col {
				return f
			}
		}
		return nil
	}
	var have []string
	for _, f := range schema.Fields() {
		have = append(have, f.Name())
	}
	optionCols := splitColumns(cols.Options)
	// The subset column is required too: every record's modality comes
	// from it, and without it each row would fail as "unknown subset".
	required := append([]string{cols.Image, cols.Question, cols.Answer, cols.Subset}, optionCols...)
	for _, c := range required {
		if node(c) == nil {
			return nil, nil, fmt.Errorf("datasets: %s: no column %q (columns: %s; map columns with the --col-* flags)", name, c, strings.Join(have, ", "))
		}
	}
	imgNode := node(cols.Image)
	n := pf.NumRows()
	r := parquet.NewReader(pf)
	defer r.Close()
	for i := 0; int64(i) < n; i++ {
		m := map[string]any{}
		if err := r.Read(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return rows, append(probs, Problem{Index: i, Msg: fmt.Sprintf("file has %d rows, metadata says %d", i, n)}), nil
			}
			return rows, append(probs, Problem{Index: i, Msg: fmt.Sprintf("unreadable row: %v", err)}), nil
		}
		row, ps := mapRow(i, m, cols, optionCols, imgNode, node)
		rows = append(rows, row)
		probs = append(probs, ps...)
	}
	return rows, probs, nil
}

func splitColumns(s string) []string {
	var out []string
	for _, c := range strings.Split(s, ",") {
		if c = strings.TrimSpace(c); c != "" {
			out = append(out, c)
		}
	}
	return out
}

// mapRow converts one reconstructed row to a record.
func mapRow(i int, m map[string]any, cols ColumnMap, optionCols []string, imgNode parquet.Node, node func(string) parquet.Node) (pqRow, []Problem) {
	var probs []Problem
	row := pqRow{bad: map[string]bool{}}
	fail := func(field, format string, a ...any) {
		row.bad[field] = true
		probs = append(probs, Problem{Index: i, Field: field, Msg: fmt.Sprintf(format, a...)})
	}
	str := func(col, field string, optional bool) (string, bool) {
		v, ok := m[col]
		if !ok || v == nil {
			if !optional {
				fail(field, "column %q is null", col)
			}
			return "", false
		}
		s, ok := asString(v)
		if !ok {
			fail(field, "column %q: want a string, got %T", col, v)
			return "", false
		}
		return s, true
	}
	row.rec.Question, _ = str(cols.Question, "question", false)
	row.rec.Answer, _ = str(cols.Answer, "answer", false)
	row.rec.Dataset, _ = str(cols.Dataset, "dataset", true)
	row.rec.Subset, _ = str(cols.Subset, "subset", false)
	if len(optionCols) == 1 {
		v := m[optionCols[0]]
		list, ok := v.([]any)
		switch {
		case v == nil:
			fail("options", "column %q is null", optionCols[0])
		case !ok:
			fail("options", "column %q: want a list of strings, got %T", optionCols[0], v)
		default:
			for j, e := range list {
				s, ok := asString(e)
				if !ok {
					fail("options", "column %q: element %d: want a string, got %T", optionCols[0], j, e)
					break
				}
				row.rec.Options = append(row.rec.Options, s)
			}
		}
	} else {
		for _, c := range optionCols {
			if s, ok := str(c, "options", true); ok && s != "" {
				row.rec.Options = append(row.rec.Options, s)
			}
		}
	}
	paths, blobs, err := imageValue(m[cols.Image], imgNode, i)
	if err != nil {
		fail("image", "column %q: %v", cols.Image, err)
	} else {
		row.rec.Image, row.bytes = paths, blobs
	}
	problem, hasProblem := "", false
	if node(cols.Problem) != nil {
		problem, hasProblem = str(cols.Problem, "problem", true)
	}
	solution, hasSolution := "", false
	if node(cols.Solution) != nil {
		solution, hasSolution = str(cols.Solution, "solution", true)
	}
	if !hasProblem && !row.bad["question"] && !row.bad["options"] {
		problem = BuildProblem(row.rec.Question, row.rec.Options)
	}
	if !hasSolution && !row.bad["answer"] && !row.bad["options"] {
		// create_problem_solution: letter_map[options.index(answer)], A..J.
		l, ok := SolutionLetter(row.rec.Options, row.rec.Answer)
		switch {
		case !ok:
			fail("solution", "cannot build: answer %q is not one of the options %q", row.rec.Answer, row.rec.Options)
		case l[0]-'A' >= MaxOptions:
			fail("solution", "cannot build: answer is option %d, letters stop at J", l[0]-'A'+1)
		default:
			solution = l
		}
	}
	row.rec.Problem, row.rec.Solution = problem, solution
	return row, probs
}

func asString(v any) (string, bool) {
	switch s := v.(type) {
	case string:
		return s, true
	case []byte:
		return string(s), true
	}
	return "", false
}

// imageValue decodes the image column of row i: bytes, a path string, a
// {bytes, path} struct or a list of those. Images given only as bytes get a
// generated name images/row<i>_<j>.<ext>.
func imageValue(v any, n parquet.Node, i int) ([]string, [][]byte, error) {
	if v == nil {
		return nil, nil, errors.New("null")
	}
	if isListNode(n) {
		list, ok := v.([]any)
		if !ok {
			return nil, nil, fmt.Errorf("want a list, got %T", v)
		}
		if len(list) == 0 {
			return nil, nil, errors.New("empty list")
		}
		elem := listElement(n)
		paths := make([]string, len(list))
		blobs := make([][]byte, len(list))
		for j, e := range list {
			p, b, err := oneImage(e, elem, i, j)
			if err != nil {
				return nil, nil, fmt.Errorf("element %d: %w", j, err)
			}
			paths[j], blobs[j] = p, b
		}
		return paths, blobs, nil
	}
	p, b, err := oneImage(v, n, i, 0)
	if err != nil {
		return nil, nil, err
	}
	return []string{p}, [][]byte{b}, nil
}

func oneImage(v any, n parquet.Node, i, j int) (string, []byte, error) {
	if v == nil {
		return "", nil, errors.New("null")
	}
	if n != nil && !n.Leaf() {
		st, ok := v.(map[string]any)
		if !ok {
			return "", nil, fmt.Errorf("want a {bytes, path} struct, got %T", v)
		}
		var b []byte
		if bv, ok := st["bytes"]; ok && bv != nil {
			s, ok := asString(bv)
			if !ok {
				return "", nil, fmt.Errorf("bytes: want binary, got %T", bv)
			}
			if s != "" {
				b = []byte(s)
			}
		}
		path := ""
		if pv, ok := st["path"]; ok && pv != nil {
			s, ok := asString(pv)
			if !ok {
				return "", nil, fmt.Errorf("path: want a string, got %T", pv)
			}
			path = s
		}
		if b == nil && path == "" {
			return "", nil, errors.New("struct has neither bytes nor path")
		}
		if path == "" {
			path = generatedImageName(i, j, b)
		}
		return path, b, nil
	}
	s, ok := asString(v)
	if !ok {
		return "", nil, fmt.Errorf("want binary or string, got %T", v)
	}
	if n != nil && isStringNode(n) {
		if s == "" {
			return "", nil, errors.New("empty path")
		}
		return s, nil, nil
	}
	if s == "" {
		return "", nil, errors.New("empty image bytes")
	}
	b := []byte(s)
	return generatedImageName(i, j, b), b, nil
}

// generatedImageName names an embedded image that has no path, with the
// extension of its decoded format.
func generatedImageName(i, j int, b []byte) string {
	ext := "img"
	if _, format, err := image.DecodeConfig(bytes.NewReader(b)); err == nil {
		ext = format
	}
	if j == 0 {
		return fmt.Sprintf("images/row%06d.%s", i, ext)
	}
	return fmt.Sprintf("images/row%06d_%d.%s", i, j, ext)
}

func isStringNode(n parquet.Node) bool {
	if lt := n.Type().LogicalType(); lt != nil {
		_, ok := lt.Value.(*format.StringType)
		return ok
	}
	return false
}

func isListNode(n parquet.Node) bool {
	if n == nil {
		return false
	}
	if n.Leaf() {
		return n.Repeated()
	}
	if lt := n.Type().LogicalType(); lt != nil {
		if _, ok := lt.Value.(*format.ListType); ok {
			return true
		}
	}
	return n.Repeated()
}

// listElement returns the element node of a LIST (3-level or legacy 2-level)
// or of a bare repeated field.
func listElement(n parquet.Node) parquet.Node {
	if n.Leaf() || (n.Repeated() && !isLogicalList(n)) {
		return n
	}
	if fs := n.Fields(); len(fs) == 1 {
		rep := fs[0]
		if !rep.Leaf() && rep.Repeated() {
			if es := rep.Fields(); len(es) == 1 {
				return es[0]
			}
			return rep
		}
		return rep
	}
	return n
}

func isLogicalList(n parquet.Node) bool {
	if lt := n.Type().LogicalType(); lt != nil {
		_, ok := lt.Value.(*format.ListType)
		return ok
	}
	return false
}

// Parquet row layouts written by ConvertJSONToParquet: the HF `datasets`
// layouts (an Image feature is the struct {bytes, path}).
type (
	pqImage struct {
		Bytes []byte `parquet:"bytes,optional"`
		Path  string `parquet:"path,optional"`
	}
	pqRefRow struct {
		Image    []string `parquet:"image,list"`
		Problem  string   `parquet:"problem"`
		Solution string   `parquet:"solution"`
		Question string   `parquet:"question"`
		Options  []string `parquet:"options,list"`
		Answer   string   `parquet:"answer"`
		Dataset  string   `parquet:"dataset"`
		Subset   string   `parquet:"subset"`
	}
	pqEmbedRow struct {
		Image    pqImage  `parquet:"image"`
		Problem  string   `parquet:"problem"`
		Solution string   `parquet:"solution"`
		Question string   `parquet:"question"`
		Options  []string `parquet:"options,list"`
		Answer   string   `parquet:"answer"`
		Dataset  string   `parquet:"dataset"`
		Subset   string   `parquet:"subset"`
	}
)

// hfFeatures is the "huggingface" key-value metadata that lets the `datasets`
// library restore the feature types (Image, Sequence of strings).
func hfFeatures(embed bool) string {
	str := map[string]string{"dtype": "string", "_type": "Value"}
	img := any(map[string]any{"feature": str, "_type": "Sequence"})
	if embed {
		img = map[string]string{"_type": "Image"}
	}
	feats := map[string]any{
		"image": img, "problem": str, "solution": str, "question": str,
		"options": map[string]any{"feature": str, "_type": "Sequence"},
		"answer":  str, "dataset": str, "subset": str,
	}
	b, _ := json.Marshal(map[string]any{"info": map[string]any{"features": feats}})
	return string(b)
}

// ConvertJSONToParquet writes the records of a seed-schema JSON file to a
// parquet file with the same eight columns. Without embed, image is a list of
// path strings (as in Medical_Multimodal_Evaluation_Data); with embed, image
// is the HF Image struct {bytes, path}, its bytes read from
// JoinImagePath(imagesRoot, image[0]) (empty imagesRoot: the JSON's folder)
// and its path the record's path; embedding needs exactly one image per
// record.
func ConvertJSONToParquet(ctx context.Context, in, out, imagesRoot string, embed bool) error {
	recs, err := ReadRecords(in)
	if err != nil {
		return err
	}
	if imagesRoot == "" {
		imagesRoot = filepath.Dir(in)
	}
	var buf bytes.Buffer
	opts := []parquet.WriterOption{parquet.Compression(&parquet.Zstd), parquet.KeyValueMetadata("huggingface", hfFeatures(embed))}
	if embed {
		rows := make([]pqEmbedRow, len(recs))
		for i, r := range recs {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("datasets: convert %s: %w", in, err)
			}
			if len(r.Image) != 1 {
				return fmt.Errorf("datasets: %s: record %d: field \"image\": embedding needs exactly one image, got %d", in, i, len(r.Image))
			}
			b, err := os.ReadFile(JoinImagePath(imagesRoot, r.Image[0]))
			if err != nil {
				return fmt.Errorf("datasets: %s: record %d: field \"image\": %w", in, i, err)
			}
			rows[i] = pqEmbedRow{Image: pqImage{Bytes: b, Path: r.Image[0]}, Problem: r.Problem, Solution: r.Solution,
				Question: r.Question, Options: r.Options, Answer: r.Answer, Dataset: r.Dataset, Subset: r.Subset}
		}
		if err := writeParquetRows(&buf, out, rows, opts); err != nil {
			return err
		}
	} else {
		rows := make([]pqRefRow, len(recs))
		for i, r := range recs {
			rows[i] = pqRefRow{Image: r.Image, Problem: r.Problem, Solution: r.Solution,
				Question: r.Question, Options: r.Options, Answer: r.Answer, Dataset: r.Dataset, Subset: r.Subset}
		}
		if err := writeParquetRows(&buf, out, rows, opts); err != nil {
			return err
		}
	}
	return writeFileAtomic(out, buf.Bytes())
}

// writeParquetRows writes rows as one parquet file to buf; errors name out,
// the file buf is for.
func writeParquetRows[T any](buf *bytes.Buffer, out string, rows []T, opts []parquet.WriterOption) error {
	w := parquet.NewGenericWriter[T](buf, opts...)
	if _, err := w.Write(rows); err != nil {
		return fmt.Errorf("datasets: %s: %w", out, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("datasets: %s: %w", out, err)
	}
	return nil
}

// ConvertParquetToJSON writes a parquet file's rows as a seed-schema JSON
// file. Embedded images are written under imagesOut (empty: the output
// file's folder) as images/<base name of the struct's path, or a generated
// name>, and referenced by that relative path; path-only images are
// referenced verbatim. Every row must be complete (see LoadParquet).
func ConvertParquetToJSON(ctx context.Context, in, out string, cols ColumnMap, imagesOut string) error {
	rows, probs, err := readParquet(in, cols)
	if err != nil {
		return err
	}
	if len(probs) > 0 {
		return fmt.Errorf("datasets: %s: %s", in, probs[0])
	}
	if imagesOut == "" {
		imagesOut = filepath.Dir(out)
	}
	written := map[string][]byte{}
	recs := make([]Record, len(rows))
	for i, r := range rows {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("datasets: convert %s: %w", in, err)
		}
		rec := r.rec
		rec.Image = append([]string(nil), r.rec.Image...)
		for j, b := range r.bytes {
			if b == nil {
				continue
			}
			rel := "images/" + filepath.Base(filepath.FromSlash(rec.Image[j]))
			if prev, ok := written[rel]; ok && !bytes.Equal(prev, b) {
				ext := filepath.Ext(rel)
				rel = fmt.Sprintf("%s_row%d_%d%s", strings.TrimSuffix(rel, ext), i, j, ext)
			}
			if _, ok := written[rel]; !ok {
				dst := JoinImagePath(imagesOut, rel)
				if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
					return fmt.Errorf("datasets: %w", err)
				}
				if err := os.WriteFile(dst, b, 0o644); err != nil {
					return fmt.Errorf("datasets: %s: row %d: %w", in, i, err)
				}
				written[rel] = b
			}
			rec.Image[j] = rel
		}
		recs[i] = rec
	}
	return WriteRecords(out, recs)
}
