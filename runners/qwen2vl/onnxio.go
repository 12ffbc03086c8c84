package qwen2vl

import (
	"fmt"
	"strings"

	"github.com/medbench/medbench/model/onnxpb"
)

// ONNX TensorProto.DataType values used by the runner.
const (
	onnxFloat   = 1
	onnxInt64   = 7
	onnxFloat16 = 10
)

// ioInfo is one graph input or output as declared in the .onnx file: name,
// element type and dims (-1 with a symbolic name for dynamic dims).
type ioInfo struct {
	Name   string
	Elem   int32
	Dims   []int64
	Params []string // symbolic dim names ("" for fixed dims)
}

func (i ioInfo) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s[", i.Name, elemName(i.Elem))
	for k, d := range i.Dims {
		if k > 0 {
			b.WriteByte(',')
		}
		if d >= 0 {
			fmt.Fprint(&b, d)
		} else {
			b.WriteString(i.Params[k])
		}
	}
	b.WriteByte(']')
	return b.String()
}

func elemName(t int32) string {
	switch t {
	case onnxFloat:
		return "float32"
	case onnxInt64:
		return "int64"
	case onnxFloat16:
		return "float16"
	}
	return fmt.Sprintf("type%d", t)
}

// readGraphIO reads the graph's runtime inputs (initializers excluded) and
// outputs from an .onnx file without loading its weights into a session;
// external data files are not read. Symbolic dims come back as -1 with their
// name in Params.
func readGraphIO(path string) (ins, outs []ioInfo, err error) {
	info, err := onnxpb.ReadModelInfo(path)
	if err != nil {
		return nil, nil, fmt.Errorf("qwen2vl: %w", err)
	}
	conv := func(vs []onnxpb.ValueInfo) ([]ioInfo, error) {
		out := make([]ioInfo, 0, len(vs))
		for _, v := range vs {
			if v.Type == 0 {
				return nil, fmt.Errorf("qwen2vl: %s: value %q is not a tensor", path, v.Name)
			}
			io := ioInfo{Name: v.Name, Elem: int32(v.Type)}
			for _, d := range v.Dims {
				if d.Param != "" {
					io.Dims, io.Params = append(io.Dims, -1), append(io.Params, d.Param)
				} else {
					io.Dims, io.Params = append(io.Dims, d.Value), append(io.Params, "")
				}
			}
			out = append(out, io)
		}
		return out, nil
	}
	if ins, err = conv(info.RuntimeInputs()); err != nil {
		return nil, nil, err
	}
	if outs, err = conv(info.Outputs); err != nil {
		return nil, nil, err
	}
	return ins, outs, nil
}
