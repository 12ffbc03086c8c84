package qwen2vl

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// addLogitsToKeep rewrites a decoder .onnx so that it declares the optional
// int64 scalar input num_logits_to_keep and returns only the last k
// positions' logits (as exports with that input do): the node producing
// "logits" now writes "logits_full", and Slice(logits_full, -k, INT64_MAX,
// axis 1) produces "logits".
func addLogitsToKeep(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	str := func(n protowire.Number, s string) []byte {
		return protowire.AppendBytes(protowire.AppendTag(nil, n, protowire.BytesType), []byte(s))
	}
	msg := func(n protowire.Number, m []byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(nil, n, protowire.BytesType), m)
	}
	node := func(op string, in []string, out string) []byte {
		var b []byte
		for _, i := range in {
			b = append(b, str(1, i)...)
		}
		b = append(b, str(2, out)...)
		b = append(b, str(3, "keep_"+out)...)
		b = append(b, str(4, op)...)
		return msg(1, b)
	}
	i64 := func(name string, v int64) []byte { // TensorProto int64 [1]
		var b []byte
		b = protowire.AppendTag(b, 1, protowire.VarintType)
		b = protowire.AppendVarint(b, 1)
		b = protowire.AppendTag(b, 2, protowire.VarintType)
		b = protowire.AppendVarint(b, onnxInt64)
		b = append(b, str(8, name)...)
		raw := binary.LittleEndian.AppendUint64(nil, uint64(v))
		b = append(b, msg(9, raw)...)
		return msg(5, b)
	}
	// ValueInfo num_logits_to_keep: int64 tensor with an empty shape (scalar)
	tensorType := append(protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), onnxInt64), msg(2, nil)...)
	input := msg(11, append(str(1, "num_logits_to_keep"), msg(2, msg(1, tensorType))...))

	rewriteNode := func(b []byte) []byte { // rename output "logits"
		var out []byte
		_ = fields(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) {
			switch {
			case typ == protowire.VarintType:
				out = protowire.AppendVarint(protowire.AppendTag(out, num, typ), x)
			case num == 2 && string(v) == "logits":
				out = append(out, str(2, "logits_full")...)
			default:
				out = append(out, msg(num, v)...)
			}
		})
		return out
	}
	var graph []byte
	var model []byte
	err = fields(data, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) {
		if typ == protowire.VarintType {
			model = protowire.AppendVarint(protowire.AppendTag(model, num, typ), x)
			return
		}
		if num != 7 {
			model = append(model, msg(num, v)...)
			return
		}
		_ = fields(v, func(gn protowire.Number, gt protowire.Type, gv []byte, gx uint64) {
			switch {
			case gt == protowire.VarintType:
				graph = protowire.AppendVarint(protowire.AppendTag(graph, gn, gt), gx)
			case gn == 1:
				graph = append(graph, msg(1, rewriteNode(gv))...)
			default:
				graph = append(graph, msg(gn, gv)...)
			}
		})
		graph = append(graph, input...)
		graph = append(graph, i64("keep_shape1", 1)...)
		graph = append(graph, i64("keep_end", 1<<62)...)
		graph = append(graph, i64("keep_axis", 1)...)
		graph = append(graph, node("Reshape", []string{"num_logits_to_keep", "keep_shape1"}, "keep_k1")...)
		graph = append(graph, node("Neg", []string{"keep_k1"}, "keep_start")...)
		graph = append(graph, node("Slice", []string{"logits_full", "keep_start", "keep_end", "keep_axis"}, "logits")...)
		model = append(model, msg(7, graph)...)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, model, 0o644); err != nil {
		t.Fatal(err)
	}
}

// With num_logits_to_keep declared, the runner feeds it (prefill logits of
// the last position only) and generates the same tokens, chunked or not.
func TestLogitsToKeep(t *testing.T) {
	src := tinyModel(t, "fp32")
	dir := copyDir(t, src)
	addLogitsToKeep(t, filepath.Join(dir, "onnx", "decoder_model_merged.onnx"))
	s := greedy(12)
	s.RepetitionPenalty = 2
	reqs := mixedRequests(t, 4)
	baseR := openTiny(t, "fp32", s, nil)
	base, err := baseR.Generate(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	prep, err := baseR.Prepare(reqs[0])
	if err != nil {
		t.Fatal(err)
	}
	wantLogits, err := baseR.TokenLogits(context.Background(), prep, base[0].TokenIDs)
	if err != nil {
		t.Fatal(err)
	}
	for _, chunk := range []int{0, 9} {
		r, err := Open(context.Background(), Config{ModelDir: dir, Sampling: s, Threads: 1, PrefillChunk: chunk})
		if err != nil {
			t.Fatal(err)
		}
		if !r.lay.logitsToKeep {
			t.Fatal("num_logits_to_keep not detected")
		}
		got, err := r.Generate(context.Background(), reqs)
		if err != nil {
			t.Fatal(err)
		}
		gotLogits, err := r.TokenLogits(context.Background(), prep, base[0].TokenIDs)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(gotLogits, wantLogits) {
			t.Errorf("TokenLogits with num_logits_to_keep differ from the full logits")
		}
		for i := range reqs {
			if !slices.Equal(got[i].TokenIDs, base[i].TokenIDs) {
				t.Errorf("chunk %d request %d: %v, want %v", chunk, i, got[i].TokenIDs, base[i].TokenIDs)
			}
		}
	}
}
