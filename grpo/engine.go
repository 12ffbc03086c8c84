package grpo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/gomlx/gomlx/backends"
	_ "github.com/gomlx/gomlx/backends/simplego" // the pure-Go backend, always available
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // GoMLX graph building reads best unqualified
	"github.com/gomlx/gomlx/pkg/core/tensors"
	mlctx "github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/onnx-gomlx/onnx"

	"github.com/medbench/medbench/internal/utf8bom"
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

// readImagePadID reads image_token_id from the model's config.json
// (Qwen2-VL's 151655 when absent).
func readImagePadID(dir string) (int64, error) {
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if os.IsNotExist(err) {
		return 151655, nil
	}
	if err != nil {
		return 0, fmt.Errorf("grpo: %w", err)
	}
	var c struct {
		ImageTokenID *int64 `json:"image_token_id"`
	}
	if err := json.Unmarshal(utf8bom.Trim(b), &c); err != nil {
		return 0, fmt.Errorf("grpo: %s: %w", filepath.Join(dir, "config.json"), err)
	}
	if c.ImageTokenID == nil {
		return 151655, nil
	}
	return *c.ImageTokenID, nil
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

// DefaultBackend is GoMLX's pure-Go backend with ops run one at a time
// (each op still uses every core): simplego's default parallel op scheduling
// can deadlock its worker pool when large matrix products nest inside
// parallel ops (seen on 2 cores).
const DefaultBackend = "go:ops_sequential"

// EngineConfig configures the update engine.
type EngineConfig struct {
	// ModelDir is the model directory `medbench eval` runs.
	ModelDir string
	// Reference loads a frozen copy of the weights for the KL term, from
	// RefModelDir ("" = ModelDir).
	Reference   bool
	RefModelDir string
	// ImagePadID is the <|image_pad|> token id whose embeddings are replaced
	// by the vision encoder's features (≤ 0: config.json image_token_id).
	ImagePadID int64
	// Freeze lists regular expressions over "<session>/<initializer>"
	// names that are not trained (e.g. "^vision/" freezes the vision
	// encoder). Non-float initializers are never trained.
	Freeze []string
	// Backend names the GoMLX backend ("go" for simplego, "xla:cpu",
	// "xla:cuda", ...); "" uses $GOMLX_BACKEND or simplego.
	Backend string
	// WeightDecay for AdamW (Hugging Face default 0).
	WeightDecay float64
}

// param is one trained tensor; tied copies (the LM head duplicating the
// token embedding) share one param and receive the sum of their gradients.
type param struct {
	name   string // canonical "<session>/<initializer>"
	dims   []int
	vars   []*mlctx.Variable
	transp []bool // copy i holds the transpose of the canonical value
}

// Engine computes per-token log-probs of prompt+completion sequences with
// GoMLX on the ONNX model, back-propagates per-token loss gradients,
// accumulates them, applies clipped AdamW steps and writes model
// directories that ONNX Runtime runs unchanged.
type Engine struct {
	cfg     EngineConfig
	onnxDir string
	backend backends.Backend
	models  map[string]*onnx.Model // training views (decoder without KV cache)
	ctx     *mlctx.Context
	refCtx  *mlctx.Context
	params  []*param
	grads   map[string][]float64
	nAccum  int
	opt     *AdamW
	head    lmHead
	// execs
	logpExec, gradExec, onPolicyExec, refExec *mlctx.Exec
}

// lmHead describes the decoder's LM head (last hidden state · W → logits),
// so that logits are computed for completion positions only.
type lmHead struct {
	hidden string // node output feeding the head: [B,S,D] or [B·S,D]
	weight string // initializer name
	transB bool   // W is [V,D] (Gemm transB=1) rather than [D,V]
	vocab  int
}

// NewEngine loads the model directory into GoMLX.
func NewEngine(cfg EngineConfig) (*Engine, error) {
	installDotVJP()
	dir, err := findONNXDir(cfg.ModelDir)
	if err != nil {
		return nil, err
	}
	var backend backends.Backend
	if cfg.Backend != "" {
		backend, err = backends.NewWithConfig(cfg.Backend)
	} else {
		if os.Getenv("GOMLX_BACKEND") == "" {
			backend, err = backends.NewWithConfig(DefaultBackend)
		} else {
			backend, err = backends.New()
		}
	}
	if err != nil {
		return nil, fmt.Errorf("grpo: GoMLX backend: %w", err)
	}
	if cfg.ImagePadID <= 0 {
		if cfg.ImagePadID, err = readImagePadID(cfg.ModelDir); err != nil {
			return nil, err
		}
	}
	refDir := dir
	if cfg.Reference && cfg.RefModelDir != "" {
		if refDir, err = findONNXDir(cfg.RefModelDir); err != nil {
			return nil, err
		}
	}
	e := &Engine{cfg: cfg, onnxDir: dir, backend: backend, models: map[string]*onnx.Model{}, grads: map[string][]float64{}, opt: NewAdamW(cfg.WeightDecay)}
	freeze := make([]*regexp.Regexp, len(cfg.Freeze))
	for i, f := range cfg.Freeze {
		if freeze[i], err = regexp.Compile(f); err != nil {
			return nil, fmt.Errorf("grpo: freeze pattern %q: %w", f, err)
		}
	}
	e.ctx = mlctx.New()
	if cfg.Reference {
		e.refCtx = mlctx.New()
	}
	for _, s := range sessions {
		path := filepath.Join(dir, s.file)
		m, err := readONNX(path)
		if err != nil {
			return nil, err
		}
		if s.scope == "decoder" {
			if m, err = dropKVCache(m, path); err != nil {
				return nil, err
			}
			if e.head, err = findLMHead(m, path); err != nil {
				return nil, err
			}
		}
		fixEmptyConstants(m)
		e.models[s.scope] = m
		if err := m.VariablesToContext(e.ctx.In(s.scope)); err != nil {
			return nil, fmt.Errorf("grpo: %s: variables: %w", path, err)
		}
		if e.refCtx != nil {
			rm := m
			if refDir != dir {
				if rm, err = readONNX(filepath.Join(refDir, s.file)); err != nil {
					return nil, err
				}
			}
			if err := rm.VariablesToContext(e.refCtx.In(s.scope)); err != nil {
				return nil, fmt.Errorf("grpo: %s: reference variables: %w", path, err)
			}
		}
	}
	if e.refCtx != nil {
		for v := range e.refCtx.IterVariables() {
			v.SetTrainable(false)
		}
	}
	if err := e.collectParams(freeze); err != nil {
		return nil, err
	}
	e.logpExec, err = mlctx.NewExecAny(backend, e.ctx, e.graphFn(graphLogProbs))
	if err != nil {
		return nil, fmt.Errorf("grpo: log-prob graph: %w", err)
	}
	e.gradExec, err = mlctx.NewExecAny(backend, e.ctx, e.graphFn(graphGrad))
	if err != nil {
		return nil, fmt.Errorf("grpo: gradient graph: %w", err)
	}
	e.onPolicyExec, err = mlctx.NewExecAny(backend, e.ctx, e.graphFn(graphOnPolicy))
	if err != nil {
		return nil, fmt.Errorf("grpo: on-policy gradient graph: %w", err)
	}
	if e.refCtx != nil {
		if e.refExec, err = mlctx.NewExecAny(backend, e.refCtx, e.graphFn(graphLogProbs)); err != nil {
			return nil, fmt.Errorf("grpo: reference graph: %w", err)
		}
	}
	return e, nil
}

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

func tensorFloats(t *tensors.Tensor) ([]float32, error) {
	if t.DType() != dtypes.Float32 {
		return nil, fmt.Errorf("dtype %s", t.DType())
	}
	return tensors.CopyFlatData[float32](t)
}

// collectParams lists the trainable float32 variables and ties exact
// duplicates (equal, or equal after transposition) into one parameter.
func (e *Engine) collectParams(freeze []*regexp.Regexp) error {
	type cand struct {
		name string
		v    *mlctx.Variable
		vals []float32
		dims []int
	}
	var cands []cand
	for _, s := range sessions {
		for v := range e.ctx.In(s.scope).In(onnx.ModelScope).IterVariablesInScope() {
			name := s.scope + "/" + v.Name()
			if v.DType() != dtypes.Float32 || v.Shape().Size() == 0 {
				v.SetTrainable(false)
				continue
			}
			frozen := false
			for _, f := range freeze {
				if f.MatchString(name) {
					frozen = true
				}
			}
			if frozen {
				v.SetTrainable(false)
				continue
			}
			t, err := v.Value()
			if err != nil {
				return fmt.Errorf("grpo: variable %s: %w", name, err)
			}
			vals, err := tensorFloats(t)
			if err != nil {
				return fmt.Errorf("grpo: variable %s: %w", name, err)
			}
			cands = append(cands, cand{name, v, vals, v.Shape().Dimensions})
		}
	}
	used := make([]bool, len(cands))
	for i, c := range cands {
		if used[i] {
			continue
		}
		p := &param{name: c.name, dims: c.dims, vars: []*mlctx.Variable{c.v}, transp: []bool{false}}
		if len(c.dims) == 2 && len(c.vals) >= 64 {
			for j := i + 1; j < len(cands); j++ {
				d := cands[j]
				if used[j] || len(d.dims) != 2 || len(d.vals) != len(c.vals) {
					continue
				}
				if slices.Equal(d.dims, c.dims) && slices.Equal(d.vals, c.vals) {
					p.vars, p.transp, used[j] = append(p.vars, d.v), append(p.transp, false), true
				} else if d.dims[0] == c.dims[1] && d.dims[1] == c.dims[0] && slices.Equal(transpose(d.vals, d.dims[0], d.dims[1]), c.vals) {
					p.vars, p.transp, used[j] = append(p.vars, d.v), append(p.transp, true), true
				}
			}
		}
		e.params = append(e.params, p)
	}
	return nil
}

// transpose returns the [c, r] transpose of a row-major [r, c] matrix.
func transpose[T any](x []T, r, c int) []T {
	out := make([]T, len(x))
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			out[j*r+i] = x[i*c+j]
		}
	}
	return out
}

// NumParams returns the number of trained values (tied copies counted once).
func (e *Engine) NumParams() int {
	n := 0
	for _, p := range e.params {
		k := 1
		for _, d := range p.dims {
			k *= d
		}
		n += k
	}
	return n
}

// ParamNames lists the trained parameters and the copies tied to them.
func (e *Engine) ParamNames() []string {
	var out []string
	for _, p := range e.params {
		s := p.name
		for i, v := range p.vars[1:] {
			s += " = " + v.Scope() + "/" + v.Name()
			if p.transp[i+1] {
				s += "ᵀ"
			}
		}
		out = append(out, s)
	}
	return out
}

// Group is one prompt with its images and several completions of it: the
// unit the engine runs as one batch (B = len(Completions)).
type Group struct {
	// PromptIDs are the prompt's token ids, image pads expanded.
	PromptIDs []int64
	// Positions are the prompt's M-RoPE position ids (t, h, w rows) and
	// RopeDelta the offset of later positions
	// (docs/reference/qwen2vl.md#m-rope-positions).
	Positions [3][]int64
	RopeDelta int64
	// PixelValues [rows, 1176] and GridTHW, one row per image.
	PixelValues []float32
	GridTHW     [][3]int64
	// Completions are the completion token ids (active tokens only: up to
	// and including the first EOS).
	Completions [][]int64
}

// groupTensors are the graph inputs of one Group.
type groupTensors struct {
	args []any
	// C is the longest completion.
	C int
}

// patchDim is Qwen2-VL's flattened patch size (3·2·14·14).
const patchDim = 1176

// tensorsFor lays out a group as graph inputs. Row b of the [B,S] batch is
// prompt ++ completion_b[:n_b−1], right-padded (attention 0); position
// P−1+k predicts completion token k. cpos [B,C] indexes those positions in
// the flattened [B·S] rows, targets/coef [B,C] hold the tokens and
// ∂Loss/∂logp (0 on padding).
func (e *Engine) tensorsFor(g Group, coef ...[][]float64) (groupTensors, error) {
	P := len(g.PromptIDs)
	if P == 0 {
		return groupTensors{}, fmt.Errorf("grpo: empty prompt")
	}
	for d := range 3 {
		if len(g.Positions[d]) != P {
			return groupTensors{}, fmt.Errorf("grpo: %d position ids (row %d) for %d prompt tokens", len(g.Positions[d]), d, P)
		}
	}
	B := len(g.Completions)
	if B == 0 {
		return groupTensors{}, fmt.Errorf("grpo: group without completions")
	}
	C := 0
	for i, c := range g.Completions {
		if len(c) == 0 {
			return groupTensors{}, fmt.Errorf("grpo: completion %d is empty", i)
		}
		C = max(C, len(c))
	}
	S := P + C - 1
	nPatch := len(g.PixelValues) / patchDim
	if len(g.PixelValues)%patchDim != 0 || nPatch == 0 {
		return groupTensors{}, fmt.Errorf("grpo: pixel values (%d floats) are not [N, %d] with N > 0", len(g.PixelValues), patchDim)
	}
	nFeat := 0
	for _, gr := range g.GridTHW {
		nFeat += int(gr[0] * gr[1] * gr[2] / 4)
	}
	ids := make([]int64, B*S)
	mask := make([]int64, B*S)
	pos := make([]int64, 3*B*S)
	sel := make([]float32, B*S)
	idx := make([]int32, B*S)
	cpos := make([]int32, B*C)
	targets := make([]int32, B*C)
	co := make([][]float32, len(coef))
	for i := range co {
		co[i] = make([]float32, B*C)
	}
	for b, c := range g.Completions {
		row := b * S
		feat := 0
		for t := 0; t < S; t++ {
			var id int64
			switch {
			case t < P:
				id = g.PromptIDs[t]
			case t-P < len(c)-1:
				id = c[t-P]
			}
			ids[row+t] = id
			if t < P+len(c)-1 {
				mask[row+t] = 1
			}
			for d := range 3 {
				if t < P {
					pos[d*B*S+row+t] = g.Positions[d][t]
				} else {
					pos[d*B*S+row+t] = int64(t) + g.RopeDelta
				}
			}
			if t < P && id == e.cfg.ImagePadID {
				if feat >= nFeat {
					return groupTensors{}, fmt.Errorf("grpo: prompt has more image pads than the %d image features of grid %v", nFeat, g.GridTHW)
				}
				sel[row+t] = 1
				idx[row+t] = int32(feat)
				feat++
			}
		}
		if feat != nFeat {
			return groupTensors{}, fmt.Errorf("grpo: prompt has %d image pads but the images give %d features", feat, nFeat)
		}
		for k := 0; k < C; k++ {
			cpos[b*C+k] = int32(row)
			if k < len(c) {
				cpos[b*C+k] = int32(row + P - 1 + k)
				targets[b*C+k] = int32(c[k])
				for i, cf := range coef {
					co[i][b*C+k] = float32(cf[b][k])
				}
			}
		}
	}
	grid := make([]int64, 0, 3*len(g.GridTHW))
	for _, gr := range g.GridTHW {
		grid = append(grid, gr[:]...)
	}
	args := []any{
		tensors.FromFlatDataAndDimensions(g.PixelValues, nPatch, patchDim),
		tensors.FromFlatDataAndDimensions(grid, len(g.GridTHW), 3),
		tensors.FromFlatDataAndDimensions(ids, B, S),
		tensors.FromFlatDataAndDimensions(mask, B, S),
		tensors.FromFlatDataAndDimensions(pos, 3, B, S),
		tensors.FromFlatDataAndDimensions(sel, B, S, 1),
		tensors.FromFlatDataAndDimensions(idx, B, S),
		tensors.FromFlatDataAndDimensions(cpos, B, C),
		tensors.FromFlatDataAndDimensions(targets, B, C),
	}
	for _, c := range co {
		args = append(args, tensors.FromFlatDataAndDimensions(c, B, C))
	}
	return groupTensors{args: args, C: C}, nil
}

// graphKind selects what graphFn computes beyond log-probs and entropies.
type graphKind int

const (
	// graphLogProbs: log-probs and entropies only.
	graphLogProbs graphKind = iota
	// graphGrad: also ∂Σ(coef·logp)/∂θ for a given coef input [B,C].
	graphGrad
	// graphOnPolicy: also ∂Σ(coef·logp)/∂θ with coef = lin + klw·(1 −
	// exp(ref − logp)) formed from this pass's log-probs (inputs lin, klw,
	// ref [B,C]: OnPolicyCoefs), so that one pass replaces LogProbs then
	// Backward on the policy that generated the batch.
	graphOnPolicy
)

// graphFn builds the engine's computation: vision features merged into the
// token embeddings, the decoder up to its last hidden state, the LM head on
// the completion positions only, log-softmax, the targets' log-probs and
// the entropies, plus the gradients kind asks for. No Slice is on the
// gradient path (simplego cannot differentiate it): positions are selected
// with Gather.
func (e *Engine) graphFn(kind graphKind) func(ctx *mlctx.Context, in []*Node) []*Node {
	return func(ctx *mlctx.Context, in []*Node) []*Node {
		g := in[0].Graph()
		pixels, grid, ids, mask, pos, sel, idx, cpos, targets := in[0], in[1], in[2], in[3], in[4], in[5], in[6], in[7], in[8]
		feats := e.models["vision"].CallGraph(ctx.In("vision"), g, map[string]*Node{"pixel_values": pixels, "grid_thw": grid})[0]
		emb := e.models["embed"].CallGraph(ctx.In("embed"), g, map[string]*Node{"input_ids": ids})[0] // [B,S,D]
		img := Gather(feats, ExpandAxes(idx, -1))                                                     // [B,S,D]
		emb = Add(Mul(emb, OneMinus(sel)), Mul(img, sel))
		hidden := e.models["decoder"].CallGraph(ctx.In("decoder"), g, map[string]*Node{
			"inputs_embeds": emb, "attention_mask": mask, "position_ids": pos,
		}, e.head.hidden)[0]
		D := hidden.Shape().Dimensions[hidden.Rank()-1]
		hidden = Reshape(hidden, -1, D)            // [B·S,D]
		hc := Gather(hidden, ExpandAxes(cpos, -1)) // [B,C,D]
		w := ctx.In("decoder").In(onnx.ModelScope).GetVariable(onnx.SafeVarName(e.head.weight)).ValueGraph(g)
		wAxis := 0
		if e.head.transB {
			wAxis = 1
		}
		logits := DotGeneral(hc, []int{2}, nil, w, []int{wAxis}, nil) // [B,C,V]
		lsm := LogSoftmax(logits, -1)
		logp := ReduceSum(Mul(lsm, OneHot(targets, e.head.vocab, dtypes.Float32)), -1)
		ent := Neg(ReduceSum(Mul(Exp(lsm), lsm), -1))
		out := []*Node{StopGradient(logp), StopGradient(ent)}
		if kind != graphLogProbs {
			coef := in[9]
			if kind == graphOnPolicy {
				lin, klw, ref := in[9], in[10], in[11]
				// d = ref − logp on tokens with a KL weight, 0 elsewhere
				// (padding's logp is arbitrary: exp must not overflow there).
				zero := ZerosLike(klw)
				d := Where(NotEqual(klw, zero), Sub(ref, StopGradient(logp)), zero)
				coef = Add(lin, Mul(klw, OneMinus(Exp(d))))
			}
			loss := ReduceAllSum(Mul(logp, StopGradient(coef)))
			nodes := make([]*Node, 0, len(e.params))
			for _, p := range e.params {
				for _, v := range p.vars {
					nodes = append(nodes, v.ValueGraph(g))
				}
			}
			out = append(out, Gradient(loss, nodes...)...)
		}
		return out
	}
}

// run executes an exec, turning GoMLX panics into errors.
func run(exec *mlctx.Exec, args []any) (out []*tensors.Tensor, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("grpo: GoMLX: %v", r)
		}
	}()
	out, err = exec.Exec(args...)
	if err != nil {
		return nil, fmt.Errorf("grpo: GoMLX: %w", err)
	}
	return out, nil
}

// perToken extracts [b][k] values of the completion tokens from [B,C].
func perToken(t *tensors.Tensor, g Group, C int) ([][]float64, error) {
	flat, err := tensors.CopyFlatData[float32](t)
	if err != nil {
		return nil, fmt.Errorf("grpo: %w", err)
	}
	out := make([][]float64, len(g.Completions))
	for b, c := range g.Completions {
		out[b] = make([]float64, len(c))
		for k := range c {
			out[b][k] = float64(flat[b*C+k])
		}
	}
	return out, nil
}

// LogProbs returns the current policy's per-token log-probs and entropies
// of every completion of the group.
func (e *Engine) LogProbs(ctx context.Context, g Group) (logp, entropy [][]float64, err error) {
	return e.logProbs(ctx, e.logpExec, g)
}

// RefLogProbs returns the frozen reference policy's per-token log-probs.
func (e *Engine) RefLogProbs(ctx context.Context, g Group) ([][]float64, error) {
	if e.refExec == nil {
		return nil, fmt.Errorf("grpo: engine has no reference model (EngineConfig.Reference)")
	}
	lp, _, err := e.logProbs(ctx, e.refExec, g)
	return lp, err
}

func (e *Engine) logProbs(ctx context.Context, exec *mlctx.Exec, g Group) (logp, entropy [][]float64, err error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	gt, err := e.tensorsFor(g)
	if err != nil {
		return nil, nil, err
	}
	out, err := run(exec, gt.args)
	if err != nil {
		return nil, nil, err
	}
	if logp, err = perToken(out[0], g, gt.C); err != nil {
		return nil, nil, err
	}
	if entropy, err = perToken(out[1], g, gt.C); err != nil {
		return nil, nil, err
	}
	return logp, entropy, nil
}

// Backward accumulates ∇θ Σ_b,k coef[b][k]·logp[b][k] over the group's
// completions (coef = ∂Loss/∂logp from Loss or SFTLoss) and returns the
// log-probs it was computed at.
func (e *Engine) Backward(ctx context.Context, g Group, coef [][]float64) ([][]float64, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(coef) != len(g.Completions) {
		return nil, fmt.Errorf("grpo: %d coefficient rows for %d completions", len(coef), len(g.Completions))
	}
	for b, c := range g.Completions {
		if len(coef[b]) != len(c) {
			return nil, fmt.Errorf("grpo: completion %d: %d coefficients for %d tokens", b, len(coef[b]), len(c))
		}
	}
	gt, err := e.tensorsFor(g, coef)
	if err != nil {
		return nil, err
	}
	out, err := run(e.gradExec, gt.args)
	if err != nil {
		return nil, err
	}
	logp, err := perToken(out[0], g, gt.C)
	if err != nil {
		return nil, err
	}
	if err := e.accumulate(out[2:]); err != nil {
		return nil, err
	}
	return logp, nil
}

// BackwardOnPolicy is LogProbs and Backward in one pass, for the policy
// that generated the completions (importance ratio exactly 1): it
// accumulates the gradient of Σ coef·logp with coef formed from this pass's
// log-probs by c (OnPolicy, one per completion), and returns the log-probs
// and entropies. The gradient equals Backward's with the coefficients Loss
// computes from those log-probs (tested), at the cost of one forward pass
// less.
func (e *Engine) BackwardOnPolicy(ctx context.Context, g Group, c []OnPolicyCoefs) (logp, entropy [][]float64, err error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	if len(c) != len(g.Completions) {
		return nil, nil, fmt.Errorf("grpo: %d coefficient rows for %d completions", len(c), len(g.Completions))
	}
	lin, klw, ref := make([][]float64, len(c)), make([][]float64, len(c)), make([][]float64, len(c))
	for b, cb := range c {
		n := len(g.Completions[b])
		if len(cb.Lin) != n || len(cb.KLW) != n || len(cb.Ref) != n {
			return nil, nil, fmt.Errorf("grpo: completion %d: coefficients of %d/%d/%d tokens for %d tokens", b, len(cb.Lin), len(cb.KLW), len(cb.Ref), n)
		}
		lin[b], klw[b], ref[b] = cb.Lin, cb.KLW, cb.Ref
	}
	gt, err := e.tensorsFor(g, lin, klw, ref)
	if err != nil {
		return nil, nil, err
	}
	out, err := run(e.onPolicyExec, gt.args)
	if err != nil {
		return nil, nil, err
	}
	if logp, err = perToken(out[0], g, gt.C); err != nil {
		return nil, nil, err
	}
	if entropy, err = perToken(out[1], g, gt.C); err != nil {
		return nil, nil, err
	}
	if err := e.accumulate(out[2:]); err != nil {
		return nil, nil, err
	}
	return logp, entropy, nil
}

// accumulate adds one pass's parameter gradients (graph outputs in e.params
// order, one per variable copy) to the accumulators.
func (e *Engine) accumulate(grads []*tensors.Tensor) error {
	k := 0
	for _, p := range e.params {
		acc := e.grads[p.name]
		if acc == nil {
			acc = make([]float64, len(e.paramValues(p)))
			e.grads[p.name] = acc
		}
		for i := range p.vars {
			gr, err := tensors.CopyFlatData[float32](grads[k])
			k++
			if err != nil {
				return fmt.Errorf("grpo: gradient of %s: %w", p.name, err)
			}
			if p.transp[i] {
				d := grads[k-1].Shape().Dimensions
				gr = transpose(gr, d[0], d[1])
			}
			for j, v := range gr {
				acc[j] += float64(v)
			}
		}
	}
	e.nAccum++
	return nil
}

func (e *Engine) paramValues(p *param) []float32 {
	t := p.vars[0].MustValue()
	v, _ := tensors.CopyFlatData[float32](t)
	return v
}

// Step applies the accumulated gradients: clip to maxGradNorm, one AdamW
// update with learning rate lr, tied copies set equal, accumulators
// cleared. It returns the gradient norm before clipping.
func (e *Engine) Step(lr, maxGradNorm float64) (float64, error) {
	if e.nAccum == 0 {
		return 0, fmt.Errorf("grpo: optimizer step without gradients")
	}
	norm := ClipGradNorm(e.grads, maxGradNorm)
	if math.IsNaN(norm) || math.IsInf(norm, 0) {
		return norm, fmt.Errorf("grpo: gradient norm is %v", norm)
	}
	values := make(map[string][]float32, len(e.params))
	for _, p := range e.params {
		values[p.name] = e.paramValues(p)
	}
	if err := e.opt.Update(values, e.grads, lr); err != nil {
		return norm, err
	}
	for _, p := range e.params {
		if err := e.setParam(p, values[p.name]); err != nil {
			return norm, err
		}
	}
	clear(e.grads)
	e.nAccum = 0
	return norm, nil
}

func (e *Engine) setParam(p *param, vals []float32) error {
	for i, v := range p.vars {
		x := vals
		dims := p.dims
		if p.transp[i] {
			x = transpose(vals, p.dims[0], p.dims[1])
			dims = []int{p.dims[1], p.dims[0]}
		}
		if err := v.SetValue(tensors.FromFlatDataAndDimensions(slices.Clone(x), dims...)); err != nil {
			return fmt.Errorf("grpo: set %s: %w", p.name, err)
		}
	}
	return nil
}

// Save writes a complete model directory to dir: the original files (with
// their layout: dir or dir/onnx) with every ONNX initializer replaced by
// the trained value. ONNX Runtime runs it exactly as the input directory.
func (e *Engine) Save(dir string) error {
	if err := copyTree(e.cfg.ModelDir, dir, func(rel string) bool {
		for _, s := range sessions {
			if filepath.Base(rel) == s.file && filepath.Join(e.cfg.ModelDir, rel) == filepath.Join(e.onnxDir, s.file) {
				return false
			}
		}
		return true
	}); err != nil {
		return err
	}
	rel, err := filepath.Rel(e.cfg.ModelDir, e.onnxDir)
	if err != nil {
		return fmt.Errorf("grpo: %w", err)
	}
	for _, s := range sessions {
		src := filepath.Join(e.onnxDir, s.file)
		m, err := readONNX(src) // pristine graph: keeps the KV cache
		if err != nil {
			return err
		}
		if err := m.ContextToONNX(e.ctx.In(s.scope)); err != nil {
			return fmt.Errorf("grpo: %s: write weights: %w", src, err)
		}
		dst := filepath.Join(dir, rel, s.file)
		if err := m.SaveToFile(dst); err != nil {
			return fmt.Errorf("grpo: %s: %w", dst, err)
		}
	}
	return nil
}

// copyTree copies regular files under src to dst for which keep is true. A
// symbolic link to a regular file is copied as that file (a Hugging Face
// cache snapshot is made of links into its blobs/ folder).
func copyTree(src, dst string, keep func(rel string) bool) error {
	return filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("grpo: %w", err)
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return fmt.Errorf("grpo: %w", err)
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		regular := d.Type().IsRegular()
		if d.Type()&os.ModeSymlink != 0 {
			st, err := os.Stat(path)
			regular = err == nil && st.Mode().IsRegular()
		}
		if !regular || !keep(rel) {
			return nil
		}
		return copyFile(path, target)
	})
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("grpo: %w", err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return fmt.Errorf("grpo: %w", err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("grpo: copy %s: %w", src, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("grpo: %w", err)
	}
	return nil
}
