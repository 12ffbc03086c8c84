// Package inspect describes a model directory's ONNX files (IR version,
// opset, parameters, external data, inputs and outputs) and checks it
// against the layout the medbench Qwen2-VL runner needs.
package inspect

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/jedib0t/go-pretty/v6/table"

	"github.com/medbench/medbench/internal/units"
	"github.com/medbench/medbench/model/onnxpb"
	"github.com/medbench/medbench/runners/fixture"
	"github.com/medbench/medbench/runners/qwen2vl"
)

// File is one of the runner's ONNX files in the directory.
type File struct {
	// Rel is the path relative to the model directory.
	Rel string
	// Info is the file's description; nil when the file is missing.
	Info *onnxpb.ModelInfo
}

// Report is what Dir found in a model directory.
type Report struct {
	Dir, DType string
	// Files are the runner's sessions in order (vision encoder, embedding,
	// decoder).
	Files []File
	// Problems are the layout mismatches and the JSON files that do not
	// load as the runner loads them; none means compatible.
	Problems []string
}

// Compatible reports whether the runner can run the directory.
func (r *Report) Compatible() bool { return len(r.Problems) == 0 }

// DetectDType picks the first of fp32, fp16, q8 and q4 whose decoder file
// the directory has, fp32 when it has none.
func DetectDType(dir string) string {
	for _, dtype := range fixture.DTypes() {
		p, _ := fixture.ONNXPath(dir, "decoder_model_merged", dtype)
		if _, err := os.Stat(p); err == nil {
			return dtype
		}
	}
	return "fp32"
}

// Dir reads the ONNX files of dtype's variant in dir and checks the
// directory: the layout (names, dtypes, ranks and fixed dims from
// config.json) and the tokenizer, generation and preprocessor configs,
// loaded as the runner loads them. An unreadable ONNX file or a directory
// without config.json is an error; everything else is a Problem.
func Dir(dir, dtype string) (*Report, error) {
	r := &Report{Dir: dir, DType: dtype}
	for _, s := range fixture.Sessions() {
		path, err := fixture.ONNXPath(dir, s, dtype)
		if err != nil {
			return nil, err
		}
		rel, _ := filepath.Rel(dir, path)
		f := File{Rel: rel}
		if _, err := os.Stat(path); err == nil {
			if f.Info, err = onnxpb.ReadModelInfo(path); err != nil {
				return nil, err
			}
		}
		r.Files = append(r.Files, f)
	}
	mismatches, err := fixture.CheckLayout(dir, dtype)
	if err != nil {
		if _, serr := os.Stat(filepath.Join(dir, "config.json")); serr != nil {
			return nil, err // not a model directory at all
		}
		r.Problems = append(r.Problems, err.Error()) // e.g. a truncated config.json
	}
	for _, m := range mismatches {
		r.Problems = append(r.Problems, m.String())
	}
	// A truncated tokenizer.json or a garbage generation/preprocessor
	// config makes the directory incompatible, naming the file.
	for _, e := range qwen2vl.CheckJSONFiles(dir) {
		r.Problems = append(r.Problems, e.Error())
	}
	return r, nil
}

// Write prints the report: a table of the files, one table of inputs and
// outputs per present file, and the layout verdict with every problem.
func (r *Report) Write(w io.Writer) {
	files := table.NewWriter()
	files.SetTitle(fmt.Sprintf("%s (%s)", r.Dir, r.DType))
	files.AppendHeader(table.Row{"file", "IR", "opset", "producer", "parameters", "weights", "external data", "nodes"})
	var ios []table.Writer
	for _, f := range r.Files {
		info := f.Info
		if info == nil {
			files.AppendRow(table.Row{f.Rel, "-", "-", "missing", "-", "-", "-", "-"})
			continue
		}
		ext := "-"
		if len(info.ExternalFiles) > 0 {
			ext = fmt.Sprintf("%s (%s)", strings.Join(info.ExternalFiles, ", "), units.Bytes(info.ExternalBytes))
		}
		nodes := 0
		for _, n := range info.Ops {
			nodes += n
		}
		files.AppendRow(table.Row{f.Rel, info.IRVersion, info.Opset(), strings.TrimSpace(info.ProducerName + " " + info.ProducerVersion),
			units.Count(info.Parameters), weightTypes(info), ext, nodes})
		io := table.NewWriter()
		io.SetTitle(f.Rel)
		io.AppendHeader(table.Row{"", "name", "dtype", "dims"})
		for _, v := range info.Inputs {
			io.AppendRow(table.Row{"in", v.Name, v.Type.String(), fixture.DimsString(v.Dims)})
		}
		for _, v := range info.Outputs {
			io.AppendRow(table.Row{"out", v.Name, v.Type.String(), fixture.DimsString(v.Dims)})
		}
		ios = append(ios, io)
	}
	fmt.Fprintln(w, files.Render())
	for _, io := range ios {
		fmt.Fprintln(w, io.Render())
	}
	if r.Compatible() {
		fmt.Fprintf(w, "layout: compatible with the medbench Qwen2-VL runner (%s)\n", r.DType)
		return
	}
	fmt.Fprintf(w, "layout: INCOMPATIBLE with the medbench Qwen2-VL runner (%s), %d mismatches:\n", r.DType, len(r.Problems))
	for _, m := range r.Problems {
		fmt.Fprintf(w, "  - %s\n", m)
	}
}

// weightTypes lists the element types the weights use, sorted: "float16,float32".
func weightTypes(info *onnxpb.ModelInfo) string {
	types := make([]string, 0, len(info.WeightTypes))
	for t, n := range info.WeightTypes {
		if n > 0 {
			types = append(types, t.String())
		}
	}
	sort.Strings(types)
	return strings.Join(types, ",")
}
