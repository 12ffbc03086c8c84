package qwen2vl

import (
	"fmt"
	"os"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
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

// readGraphIO reads the graph's inputs (minus initializers) and outputs from
// an .onnx file without loading its weights into a session. External data
// files are not read.
func readGraphIO(path string) (ins, outs []ioInfo, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("qwen2vl: %w", err)
	}
	graph, err := findField(data, 7) // ModelProto.graph
	if err != nil || graph == nil {
		return nil, nil, fmt.Errorf("qwen2vl: %s: no graph in ONNX model (%v)", path, err)
	}
	inits := map[string]bool{}
	var rawIn, rawOut [][]byte
	for b := graph; len(b) > 0; {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, nil, fmt.Errorf("qwen2vl: %s: malformed graph", path)
		}
		b = b[n:]
		if typ != protowire.BytesType {
			m := protowire.ConsumeFieldValue(num, typ, b)
			if m < 0 {
				return nil, nil, fmt.Errorf("qwen2vl: %s: malformed graph", path)
			}
			b = b[m:]
			continue
		}
		v, m := protowire.ConsumeBytes(b)
		if m < 0 {
			return nil, nil, fmt.Errorf("qwen2vl: %s: malformed graph", path)
		}
		b = b[m:]
		switch num {
		case 5: // initializer (TensorProto.name = 8)
			if nm, _ := findField(v, 8); nm != nil {
				inits[string(nm)] = true
			}
		case 11:
			rawIn = append(rawIn, v)
		case 12:
			rawOut = append(rawOut, v)
		}
	}
	for _, v := range rawIn {
		info, err := parseValueInfo(v)
		if err != nil {
			return nil, nil, fmt.Errorf("qwen2vl: %s: %w", path, err)
		}
		if !inits[info.Name] {
			ins = append(ins, info)
		}
	}
	for _, v := range rawOut {
		info, err := parseValueInfo(v)
		if err != nil {
			return nil, nil, fmt.Errorf("qwen2vl: %s: %w", path, err)
		}
		outs = append(outs, info)
	}
	return ins, outs, nil
}

// findField returns the first length-delimited field num of a message.
func findField(b []byte, want protowire.Number) ([]byte, error) {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		b = b[n:]
		if typ == protowire.BytesType {
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return nil, protowire.ParseError(m)
			}
			if num == want {
				return v, nil
			}
			b = b[m:]
			continue
		}
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			return nil, protowire.ParseError(m)
		}
		b = b[m:]
	}
	return nil, nil
}

// fields calls f for every field of a message.
func fields(b []byte, f func(num protowire.Number, typ protowire.Type, v []byte, x uint64)) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		switch typ {
		case protowire.BytesType:
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return protowire.ParseError(m)
			}
			f(num, typ, v, 0)
			b = b[m:]
		case protowire.VarintType:
			x, m := protowire.ConsumeVarint(b)
			if m < 0 {
				return protowire.ParseError(m)
			}
			f(num, typ, nil, x)
			b = b[m:]
		default:
			m := protowire.ConsumeFieldValue(num, typ, b)
			if m < 0 {
				return protowire.ParseError(m)
			}
			b = b[m:]
		}
	}
	return nil
}

// parseValueInfo decodes ValueInfoProto{name=1, type=2{tensor_type=1{
// elem_type=1, shape=2{dim=1{dim_value=1|dim_param=2}}}}}.
func parseValueInfo(b []byte) (ioInfo, error) {
	var info ioInfo
	var typ []byte
	err := fields(b, func(num protowire.Number, _ protowire.Type, v []byte, _ uint64) {
		switch num {
		case 1:
			info.Name = string(v)
		case 2:
			typ = v
		}
	})
	if err != nil {
		return info, fmt.Errorf("value info: %w", err)
	}
	tt, err := findField(typ, 1)
	if err != nil || tt == nil {
		return info, fmt.Errorf("value %q is not a tensor", info.Name)
	}
	var shape []byte
	err = fields(tt, func(num protowire.Number, wt protowire.Type, v []byte, x uint64) {
		switch {
		case num == 1 && wt == protowire.VarintType:
			info.Elem = int32(x)
		case num == 2:
			shape = v
		}
	})
	if err != nil {
		return info, fmt.Errorf("value %q type: %w", info.Name, err)
	}
	err = fields(shape, func(num protowire.Number, _ protowire.Type, dim []byte, _ uint64) {
		if num != 1 {
			return
		}
		d, p := int64(-1), ""
		_ = fields(dim, func(num protowire.Number, wt protowire.Type, v []byte, x uint64) {
			switch {
			case num == 1 && wt == protowire.VarintType:
				d = int64(x)
			case num == 2:
				p = string(v)
			}
		})
		info.Dims = append(info.Dims, d)
		info.Params = append(info.Params, p)
	})
	if err != nil {
		return info, fmt.Errorf("value %q shape: %w", info.Name, err)
	}
	return info, nil
}
