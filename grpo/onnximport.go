package grpo

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gomlx/onnx-gomlx/onnx"
)

// The three ONNX sessions of the transformers.js Qwen2-VL layout that
// `medbench eval` runs (docs/reference/qwen2vl.md#onnx-layout), fp32
// variant.
const (
	VisionFile  = "vision_encoder.onnx"
	EmbedFile   = "embed_tokens.onnx"
	DecoderFile = "decoder_model_merged.onnx"
)

// sessions in a fixed order; each gets its own variable scope.
var sessions = []struct{ scope, file string }{
	{"vision", VisionFile},
	{"embed", EmbedFile},
	{"decoder", DecoderFile},
}

// findONNXDir returns the folder holding the three files: dir or dir/onnx.
func findONNXDir(dir string) (string, error) {
	for _, d := range []string{dir, filepath.Join(dir, "onnx")} {
		ok := true
		for _, s := range sessions {
			if _, err := os.Stat(filepath.Join(d, s.file)); err != nil {
				ok = false
				break
			}
		}
		if ok {
			return d, nil
		}
	}
	return "", fmt.Errorf("grpo: model %s: no %s, %s and %s (fp32) in it or in its onnx/ folder", dir, VisionFile, EmbedFile, DecoderFile)
}

// lmHead describes the decoder's LM head (last hidden state · W → logits),
// so that logits are computed for completion positions only.
type lmHead struct {
	hidden string // node output feeding the head: [B,S,D] or [B·S,D]
	weight string // initializer name
	transB bool   // W is [V,D] (Gemm transB=1) rather than [D,V]
	vocab  int
}

// trainingView reads one session's model and rewrites it into the graph the
// engine trains: the decoder loses its KV cache (dropKVCache) and yields its
// LM head; every session gets its empty constants fixed.
func trainingView(path string, decoder bool) (*onnx.Model, lmHead, error) {
	m, err := readONNX(path)
	if err != nil {
		return nil, lmHead{}, err
	}
	var head lmHead
	if decoder {
		if m, err = dropKVCache(m, path); err != nil {
			return nil, lmHead{}, err
		}
		if head, err = findLMHead(m, path); err != nil {
			return nil, lmHead{}, err
		}
	}
	fixEmptyConstants(m)
	return m, head, nil
}

// readONNX reads an ONNX file, turning onnx-gomlx panics into errors that
// name it.
func readONNX(path string) (m *onnx.Model, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("grpo: %s: %v", path, r)
		}
	}()
	m, err = onnx.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("grpo: %s: %w", path, err)
	}
	return m, nil
}

// dropKVCache returns the decoder's training view: the full sequence is
// processed in one pass with an empty cache, so every Concat(past, new)
// becomes Identity(new) and the past_key_values.* inputs disappear (GoMLX's
// simplego cannot concatenate zero-length tensors). The saved model keeps the
// original graph: only initializer values are written back.
func dropKVCache(m *onnx.Model, path string) (*onnx.Model, error) {
	isPast := map[string]bool{}
	for _, in := range m.Proto.Graph.Input {
		if strings.HasPrefix(in.Name, "past_key_values.") {
			isPast[in.Name] = true
		}
	}
	if len(isPast) == 0 {
		return m, nil
	}
	rename := map[string]string{}
	nodes := m.Proto.Graph.Node[:0]
	for _, n := range m.Proto.Graph.Node {
		var keep []string
		uses := false
		for _, in := range n.Input {
			if isPast[in] {
				uses = true
			} else {
				keep = append(keep, in)
			}
		}
		if !uses {
			nodes = append(nodes, n)
			continue
		}
		if n.OpType != "Concat" || len(keep) != 1 || len(n.Output) != 1 {
			return nil, fmt.Errorf("grpo: %s: node %q (%s) reads the KV cache other than by Concat(past, new); cannot build the no-cache training graph", path, n.Name, n.OpType)
		}
		rename[n.Output[0]] = keep[0] // GoMLX has no gradient for Identity: rewire instead
	}
	m.Proto.Graph.Node = nodes
	for _, n := range nodes {
		for i, in := range n.Input {
			if r, ok := rename[in]; ok {
				n.Input[i] = r
			}
		}
	}
	ins := m.Proto.Graph.Input[:0]
	for _, in := range m.Proto.Graph.Input {
		if !isPast[in.Name] {
			ins = append(ins, in)
		}
	}
	m.Proto.Graph.Input = ins
	outs := m.Proto.Graph.Output[:0]
	for _, o := range m.Proto.Graph.Output {
		if !strings.HasPrefix(o.Name, "present.") {
			outs = append(outs, o)
		}
	}
	m.Proto.Graph.Output = outs
	var buf bytes.Buffer
	if err := m.Write(&buf); err != nil {
		return nil, fmt.Errorf("grpo: %s: %w", path, err)
	}
	m2, err := onnx.Parse(buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("grpo: %s: training view: %w", path, err)
	}
	return m2, nil
}

// fixEmptyConstants rewrites Reshape(x, shape=[]) — a reshape of a
// one-element vector to a scalar, whose shape constant has zero elements —
// into Squeeze(x, axes=[0]): onnx-gomlx v0.3.4 cannot load zero-element
// tensors (GoMLX has none). It applies only when every consumer of the
// empty constant is such a Reshape; anything else is left for onnx-gomlx to
// report.
func fixEmptyConstants(m *onnx.Model) {
	type use struct{ node, input int }
	uses := map[string][]use{}
	for i, n := range m.Proto.Graph.Node {
		for j, in := range n.Input {
			uses[in] = append(uses[in], use{i, j})
		}
	}
	for _, n := range m.Proto.Graph.Node {
		if n.OpType != "Constant" || len(n.Output) != 1 || len(n.Attribute) != 1 {
			continue
		}
		t := n.Attribute[0].T
		if t == nil || len(t.Dims) != 1 || t.Dims[0] != 0 || t.DataType != 7 { // INT64
			continue
		}
		us := uses[n.Output[0]]
		ok := len(us) > 0
		for _, u := range us {
			c := m.Proto.Graph.Node[u.node]
			if c.OpType != "Reshape" || u.input != 1 {
				ok = false
			}
		}
		if !ok {
			continue
		}
		t.Dims = []int64{1}
		t.RawData = make([]byte, 8) // int64 0: axis 0
		for _, u := range us {
			c := m.Proto.Graph.Node[u.node]
			c.OpType = "Squeeze"
			c.Attribute = nil
		}
	}
}

// findLMHead locates the head producing "logits": MatMul(h, W[D,V]) or
// Gemm(h, W[V,D], transB=1), optionally followed by a Reshape to [B,S,V].
func findLMHead(m *onnx.Model, path string) (lmHead, error) {
	inits := map[string][]int64{}
	for _, t := range m.Proto.Graph.Initializer {
		inits[t.Name] = t.Dims
	}
	producer := map[string]int{}
	for i, n := range m.Proto.Graph.Node {
		for _, o := range n.Output {
			producer[o] = i
		}
	}
	name := "logits"
	for range 2 {
		i, ok := producer[name]
		if !ok {
			break
		}
		n := m.Proto.Graph.Node[i]
		if n.OpType == "Reshape" && len(n.Input) == 2 {
			name = n.Input[0]
			continue
		}
		if len(n.Input) != 2 {
			break
		}
		d, ok := inits[n.Input[1]]
		if !ok || len(d) != 2 {
			break
		}
		switch n.OpType {
		case "MatMul":
			return lmHead{hidden: n.Input[0], weight: n.Input[1], vocab: int(d[1])}, nil
		case "Gemm":
			var transA, transB int64
			alpha, beta := float32(1), float32(1)
			for _, a := range n.Attribute {
				switch a.Name {
				case "transA":
					transA = a.I
				case "transB":
					transB = a.I
				case "alpha":
					alpha = a.F
				case "beta":
					beta = a.F
				}
			}
			if transA != 0 || alpha != 1 || beta != 1 {
				break
			}
			if transB == 1 {
				return lmHead{hidden: n.Input[0], weight: n.Input[1], transB: true, vocab: int(d[0])}, nil
			}
			return lmHead{hidden: n.Input[0], weight: n.Input[1], vocab: int(d[1])}, nil
		}
		break
	}
	return lmHead{}, fmt.Errorf("grpo: %s: logits are not MatMul/Gemm(hidden, initializer) (+ Reshape); the engine needs that LM head", path)
}
