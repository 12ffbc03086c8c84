package datasets

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/medbench/medbench/internal/utf8bom"
)

// Field names of the seed schema, in file order.
var recordFields = []string{"image", "problem", "solution", "question", "options", "answer", "dataset", "subset"}

// Problem is one defect found in a dataset file.
type Problem struct {
	// Index is the record's position in the file (0-based); -1 for problems
	// with the file as a whole.
	Index int `json:"index"`
	// Field is the JSON key at fault, or "" for the whole record.
	Field string `json:"field,omitempty"`
	Msg   string `json:"msg"`
}

// String formats the problem as "record 3: field "options": empty list".
func (p Problem) String() string {
	var b strings.Builder
	if p.Index >= 0 {
		fmt.Fprintf(&b, "record %d: ", p.Index)
	}
	if p.Field != "" {
		fmt.Fprintf(&b, "field %q: ", p.Field)
	}
	b.WriteString(p.Msg)
	return b.String()
}

// BuildProblem renders the problem text exactly as grpo.py's
// create_problem_solution and the seed file do:
// question + "\n" + "\n".join(f"{L}) {opt}") with L = A, B, C, ...
func BuildProblem(question string, options []string) string {
	var b strings.Builder
	b.WriteString(question)
	b.WriteByte('\n')
	for i, o := range options {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(Letter(i))
		b.WriteString(") ")
		b.WriteString(o)
	}
	return b.String()
}

// Letter returns the option letter for a 0-based index (chr(65+i)).
func Letter(i int) string { return string(rune('A' + i)) }

// MaxOptions is the number of option letters the seed's reward accepts (A..J).
const MaxOptions = 10

// SolutionLetter returns chr(65 + options.index(answer)), or false when the
// answer is not among the options.
func SolutionLetter(options []string, answer string) (string, bool) {
	for i, o := range options {
		if o == answer {
			return Letter(i), true
		}
	}
	return "", false
}

// ReadRecords reads a JSON array of records in the seed schema. It is strict
// about structure: every record must be an object with exactly the eight
// seed keys, each of the right type, in valid UTF-8. It does not check the
// records' content (letters, problem text, images): use Validate for that.
// Errors name the file, the record index and the field.
func ReadRecords(path string) ([]Record, error) {
	recs, probs, err := readRecordFile(path)
	if err != nil {
		return nil, err
	}
	if len(probs) > 0 {
		return nil, fmt.Errorf("datasets: %s: %s", path, probs[0])
	}
	out := make([]Record, len(recs))
	for i, r := range recs {
		out[i] = r.rec
	}
	return out, nil
}

// LoadJSON reads a seed-schema JSON file and resolves each record with the
// default modality map. See LoadJSONWithMap.
func LoadJSON(path, imagesRoot string) ([]Item, error) {
	return LoadJSONWithMap(path, imagesRoot, DefaultModalityMap())
}

// LoadJSONWithMap reads a seed-schema JSON file (strictly, as ReadRecords)
// and resolves each record: Index is its position in the file, Modality comes
// from its subset through mm (an unknown subset is an error), and ImagePaths
// are JoinImagePath(imagesRoot, image[i]). An empty imagesRoot means the JSON
// file's own folder, like the seed's BASE_PATH holding both.
func LoadJSONWithMap(path, imagesRoot string, mm ModalityMap) ([]Item, error) {
	recs, err := ReadRecords(path)
	if err != nil {
		return nil, err
	}
	if imagesRoot == "" {
		imagesRoot = filepath.Dir(path)
	}
	out := make([]Item, len(recs))
	for i, r := range recs {
		s, err := resolve(i, r, imagesRoot, mm)
		if err != nil {
			return nil, fmt.Errorf("datasets: %s: %w", path, err)
		}
		out[i] = s
	}
	return out, nil
}

// resolve turns record i into a Sample with paths under root.
func resolve(i int, r Record, root string, mm ModalityMap) (Item, error) {
	if len(r.Image) == 0 {
		return Item{}, fmt.Errorf("record %d: field \"image\": empty list", i)
	}
	mod, err := mm.Canonical(r.Subset)
	if err != nil {
		return Item{}, fmt.Errorf("record %d: field \"subset\": %w", i, err)
	}
	s := Item{Index: i, Modality: mod, Record: r, ImagePaths: make([]string, len(r.Image))}
	for j, p := range r.Image {
		if p == "" {
			return Item{}, fmt.Errorf("record %d: field \"image\": element %d is empty", i, j)
		}
		s.ImagePaths[j] = JoinImagePath(root, p)
	}
	return s, nil
}

// JoinImagePath joins an image path from a record to the images root the way
// the seed does (f"{BASE_PATH}/{image[0]}"): verbatim, no URL decoding and no
// lexical cleaning, so "a/../b", "%20" and spaces keep their meaning. A
// trailing slash on root is not doubled; an empty root leaves rel unchanged;
// an absolute rel is used as is.
func JoinImagePath(root, rel string) string {
	if root == "" || filepath.IsAbs(rel) {
		return rel
	}
	if strings.HasSuffix(root, "/") {
		return root + rel
	}
	return root + "/" + rel
}

// rawRecord is one parsed record with the byte offset where it starts.
type rawRecord struct {
	offset int64
	rec    Record
	// bad records the fields whose type was wrong or missing; content checks
	// skip them.
	bad map[string]bool
}

// readRecordFile reads the JSON array at path and parses it with
// parseRecords; errors name the file.
func readRecordFile(path string) ([]rawRecord, []Problem, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("datasets: %w", err)
	}
	recs, probs, err := parseRecords(data)
	if err != nil {
		return nil, nil, fmt.Errorf("datasets: %s: %w", path, err)
	}
	return recs, probs, nil
}

// parseRecords splits a JSON array into records, collecting structural
// problems per record. A file that is not a JSON array is an error;
// malformed JSON inside the array (e.g. truncation) ends the scan with a
// Problem naming the record being read and the byte offset.
func parseRecords(data []byte) ([]rawRecord, []Problem, error) {
	// A leading UTF-8 BOM is skipped (Python's utf-8-sig); it is replaced
	// by spaces so that byte offsets in messages stay the file's.
	if n := utf8bom.Len(data); n > 0 {
		data = append([]byte("   "), data[n:]...)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil, errors.New("empty file, want a JSON array of records")
		}
		return nil, nil, fmt.Errorf("not JSON (byte offset %d): %w", dec.InputOffset(), err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return nil, nil, fmt.Errorf("top level is %s, want a JSON array of records", describeToken(tok))
	}
	var (
		recs  []rawRecord
		probs []Problem
	)
	for i := 0; ; i++ {
		if !dec.More() {
			break
		}
		start := skipSeparators(data, dec.InputOffset())
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return recs, append(probs, Problem{Index: i, Msg: jsonErrMsg(err, start, len(data))}), nil
		}
		// RawMessage holds the value's bytes verbatim, ending at InputOffset.
		off := dec.InputOffset() - int64(len(raw))
		rec, bad, ps := parseRecord(i, raw, off)
		recs = append(recs, rawRecord{offset: off, rec: rec, bad: bad})
		probs = append(probs, ps...)
	}
	if _, err := dec.Token(); err != nil {
		return recs, append(probs, Problem{Index: len(recs), Msg: jsonErrMsg(err, dec.InputOffset(), len(data))}), nil
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return recs, append(probs, Problem{Index: -1, Msg: fmt.Sprintf("trailing data after the JSON array at byte offset %d", dec.InputOffset())}), nil
	}
	return recs, probs, nil
}

func jsonErrMsg(err error, start int64, size int) string {
	var se *json.SyntaxError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return fmt.Sprintf("truncated JSON: file ends at byte offset %d inside the record starting at byte offset %d", size, start)
	case errors.As(err, &se):
		return fmt.Sprintf("invalid JSON at byte offset %d (record starts at byte offset %d): %v", se.Offset, start, err)
	}
	return fmt.Sprintf("invalid JSON in the record starting at byte offset %d: %v", start, err)
}

func describeToken(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		if t == '{' {
			return "an object"
		}
		return fmt.Sprintf("%q", string(t))
	case string:
		return "a string"
	case nil:
		return "null"
	case bool:
		return "a boolean"
	default:
		return "a number"
	}
}

// jsonKind names the JSON type of a raw value.
func jsonKind(raw json.RawMessage) string {
	b := bytes.TrimLeft(raw, " \t\r\n")
	if len(b) == 0 {
		return "nothing"
	}
	switch b[0] {
	case '"':
		return "string"
	case '[':
		return "list"
	case '{':
		return "object"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

// parseRecord decodes one record leniently, reporting every structural
// problem: invalid UTF-8, non-object, missing, unknown or mistyped fields.
func parseRecord(i int, raw json.RawMessage, off int64) (Record, map[string]bool, []Problem) {
	var probs []Problem
	bad := map[string]bool{}
	if !utf8.Valid(raw) {
		at := invalidUTF8At(raw)
		probs = append(probs, Problem{Index: i, Msg: fmt.Sprintf("invalid UTF-8 at byte offset %d", off+int64(at))})
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		for _, f := range recordFields {
			bad[f] = true
		}
		return Record{}, bad, append(probs, Problem{Index: i, Msg: fmt.Sprintf("record is a JSON %s, want an object", jsonKind(raw))})
	}
	var r Record
	str := func(name string, dst *string) {
		v, ok := obj[name]
		if !ok {
			bad[name] = true
			probs = append(probs, Problem{Index: i, Field: name, Msg: "missing"})
			return
		}
		if jsonKind(v) != "string" || json.Unmarshal(v, dst) != nil {
			bad[name] = true
			probs = append(probs, Problem{Index: i, Field: name, Msg: fmt.Sprintf("want a string, got %s", jsonKind(v))})
		}
	}
	list := func(name string, dst *[]string) {
		v, ok := obj[name]
		if !ok {
			bad[name] = true
			probs = append(probs, Problem{Index: i, Field: name, Msg: "missing"})
			return
		}
		if jsonKind(v) != "list" {
			bad[name] = true
			probs = append(probs, Problem{Index: i, Field: name, Msg: fmt.Sprintf("want a list of strings, got %s", jsonKind(v))})
			return
		}
		var elems []json.RawMessage
		if err := json.Unmarshal(v, &elems); err != nil {
			bad[name] = true
			probs = append(probs, Problem{Index: i, Field: name, Msg: fmt.Sprintf("want a list of strings: %v", err)})
			return
		}
		out := make([]string, len(elems))
		for j, e := range elems {
			if jsonKind(e) != "string" || json.Unmarshal(e, &out[j]) != nil {
				bad[name] = true
				probs = append(probs, Problem{Index: i, Field: name, Msg: fmt.Sprintf("element %d: want a string, got %s", j, jsonKind(e))})
				return
			}
		}
		*dst = out
	}
	list("image", &r.Image)
	str("problem", &r.Problem)
	str("solution", &r.Solution)
	str("question", &r.Question)
	list("options", &r.Options)
	str("answer", &r.Answer)
	str("dataset", &r.Dataset)
	str("subset", &r.Subset)
	var unknown []string
	for k := range obj {
		if !isRecordField(k) {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		probs = append(probs, Problem{Index: i, Field: k, Msg: "unknown field (the seed schema has image, problem, solution, question, options, answer, dataset, subset)"})
	}
	return r, bad, probs
}

func isRecordField(k string) bool {
	for _, f := range recordFields {
		if f == k {
			return true
		}
	}
	return false
}

func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// skipSeparators advances past whitespace and one comma: where the next
// array element starts.
func skipSeparators(data []byte, off int64) int64 {
	for off < int64(len(data)) {
		switch data[off] {
		case ' ', '\t', '\r', '\n', ',':
			off++
			continue
		}
		break
	}
	return off
}

// LoadOptions configures Load.
type LoadOptions struct {
	// ImagesRoot is joined to relative image paths; empty means the dataset
	// file's folder.
	ImagesRoot string
	// Format is "json" or "parquet"; empty means by the file's extension
	// (Format).
	Format string
	// Columns maps parquet columns (zero value: Hugging Face defaults).
	Columns ColumnMap
	// Modalities maps subsets to modalities (nil: DefaultModalityMap).
	Modalities ModalityMap
}

// Format is the dataset format a load uses: format when given ("json" or
// "parquet", anything else an error), else "parquet" for a ".parquet" path
// (any case) and "json" otherwise.
func Format(path, format string) (string, error) {
	switch format {
	case "":
		if IsParquetPath(path) {
			return "parquet", nil
		}
		return "json", nil
	case "json", "parquet":
		return format, nil
	}
	return "", fmt.Errorf("--format %q: want json or parquet", format)
}

// Load reads a dataset in opts.Format (see Format): parquet with
// LoadParquetWithMap, seed-schema JSON with LoadJSONWithMap. This is the
// one place a format is dispatched.
func Load(path string, opts LoadOptions) ([]Item, error) {
	format, err := Format(path, opts.Format)
	if err != nil {
		return nil, err
	}
	mm := opts.Modalities
	if mm == nil {
		mm = DefaultModalityMap()
	}
	if format == "parquet" {
		return LoadParquetWithMap(path, opts.Columns, opts.ImagesRoot, mm)
	}
	return LoadJSONWithMap(path, opts.ImagesRoot, mm)
}

// IsParquetPath reports whether a path names a parquet file (by extension).
func IsParquetPath(path string) bool { return strings.HasSuffix(strings.ToLower(path), ".parquet") }
