package qwen2vl

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// toExternalData moves the float initializers of an .onnx file larger than
// 1 KiB into NAME.onnx_data (the layout of large exports), leaving small
// tensors inline.
func toExternalData(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	msg := func(n protowire.Number, m []byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(nil, n, protowire.BytesType), m)
	}
	entry := func(k, v string) []byte { return msg(13, append(msg(1, []byte(k)), msg(2, []byte(v))...)) }
	loc := filepath.Base(path) + "_data"
	var ext []byte
	moved := 0
	tensor := func(b []byte) []byte {
		var out, raw []byte
		var dt uint64
		_ = fields(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) {
			switch {
			case typ == protowire.VarintType:
				if num == 2 {
					dt = x
				}
				out = protowire.AppendVarint(protowire.AppendTag(out, num, typ), x)
			case num == 9:
				raw = v
			default:
				out = append(out, msg(num, v)...)
			}
		})
		if raw == nil {
			return b
		}
		if len(raw) <= 1024 || (dt != onnxFloat && dt != onnxFloat16) {
			return append(out, msg(9, raw)...)
		}
		off := len(ext)
		ext = append(ext, raw...)
		moved++
		out = append(out, entry("location", loc)...)
		out = append(out, entry("offset", strconv.Itoa(off))...)
		out = append(out, entry("length", strconv.Itoa(len(raw)))...)
		return protowire.AppendVarint(protowire.AppendTag(out, 14, protowire.VarintType), 1) // data_location EXTERNAL
	}
	var model []byte
	_ = fields(data, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) {
		if typ == protowire.VarintType {
			model = protowire.AppendVarint(protowire.AppendTag(model, num, typ), x)
			return
		}
		if num != 7 {
			model = append(model, msg(num, v)...)
			return
		}
		var graph []byte
		_ = fields(v, func(gn protowire.Number, gt protowire.Type, gv []byte, gx uint64) {
			switch {
			case gt == protowire.VarintType:
				graph = protowire.AppendVarint(protowire.AppendTag(graph, gn, gt), gx)
			case gn == 5:
				graph = append(graph, msg(5, tensor(gv))...)
			default:
				graph = append(graph, msg(gn, gv)...)
			}
		})
		model = append(model, msg(7, graph)...)
	})
	if err := os.WriteFile(path, model, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+"_data", ext, 0o644); err != nil {
		t.Fatal(err)
	}
	return moved
}

// Weights in external data files load (by path) and give the same tokens;
// Info hashes the data files.
func TestExternalData(t *testing.T) {
	src := tinyModel(t, "fp32")
	dir := copyDir(t, src)
	for _, s := range []string{sessVision, sessEmbed, sessDecoder} {
		if n := toExternalData(t, filepath.Join(dir, "onnx", s+".onnx")); n == 0 {
			t.Fatalf("%s: no initializer moved", s)
		}
	}
	s := greedy(10)
	s.RepetitionPenalty = 2
	reqs := mixedRequests(t, 3)
	want, err := openTiny(t, "fp32", s, nil).Generate(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Open(context.Background(), Config{ModelDir: dir, Sampling: s, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := r.Generate(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	for i := range reqs {
		if !slices.Equal(got[i].TokenIDs, want[i].TokenIDs) {
			t.Errorf("request %d: %v, want %v", i, got[i].TokenIDs, want[i].TokenIDs)
		}
	}
	if h := r.Info().Files["onnx/decoder_model_merged.onnx_data"]; len(h) != 64 {
		t.Errorf("external data not hashed: %q", h)
	}
}
