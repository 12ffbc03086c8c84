package grpo

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"github.com/gomlx/gomlx/backends"
	_ "github.com/gomlx/gomlx/backends/simplego" // the pure-Go backend, always available
	mlctx "github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/onnx-gomlx/onnx"

	"github.com/medbench/medbench/runners/qwen2vl"
)

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

// Engine computes per-token log-probs of prompt+completion sequences with
// GoMLX on the ONNX model, back-propagates per-token loss gradients,
// accumulates them, applies clipped AdamW steps and writes model
// directories that ONNX Runtime runs unchanged. Close releases it.
type Engine struct {
	cfg     EngineConfig
	onnxDir string
	geom    qwen2vl.Geometry
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
	closed                                    bool
}

// errClosed is the error of an Engine used after Close.
var errClosed = errors.New("grpo: engine is closed")

// NewEngine loads the model directory into GoMLX. The image geometry
// (image_token_id, spatial merge, patch size) comes from the model's
// config.json and preprocessor_config.json, read as the ORT runner reads
// them (qwen2vl.ReadGeometry).
func NewEngine(cfg EngineConfig) (_ *Engine, err error) {
	installDotVJP()
	dir, err := findONNXDir(cfg.ModelDir)
	if err != nil {
		return nil, err
	}
	geom, err := qwen2vl.ReadGeometry(cfg.ModelDir)
	if err != nil {
		return nil, fmt.Errorf("grpo: model geometry: %w", err)
	}
	if cfg.ImagePadID <= 0 {
		cfg.ImagePadID = int64(geom.ImageTokenID)
	}
	refDir := dir
	if cfg.Reference && cfg.RefModelDir != "" {
		if refDir, err = findONNXDir(cfg.RefModelDir); err != nil {
			return nil, err
		}
	}
	freeze := make([]*regexp.Regexp, len(cfg.Freeze))
	for i, f := range cfg.Freeze {
		if freeze[i], err = regexp.Compile(f); err != nil {
			return nil, fmt.Errorf("grpo: freeze pattern %q: %w", f, err)
		}
	}
	backend, err := newBackend(cfg.Backend)
	if err != nil {
		return nil, err
	}
	e := &Engine{cfg: cfg, onnxDir: dir, geom: geom, backend: backend, models: map[string]*onnx.Model{},
		grads: map[string][]float64{}, opt: NewAdamW(cfg.WeightDecay), ctx: mlctx.New()}
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	if cfg.Reference {
		e.refCtx = mlctx.New()
	}
	if err := e.importSessions(refDir); err != nil {
		return nil, err
	}
	if err := e.collectParams(freeze); err != nil {
		return nil, err
	}
	if err := e.compile(); err != nil {
		return nil, err
	}
	return e, nil
}

// newBackend opens the GoMLX backend name names ("": $GOMLX_BACKEND, else
// DefaultBackend).
func newBackend(name string) (backends.Backend, error) {
	var (
		backend backends.Backend
		err     error
	)
	switch {
	case name != "":
		backend, err = backends.NewWithConfig(name)
	case os.Getenv("GOMLX_BACKEND") == "":
		backend, err = backends.NewWithConfig(DefaultBackend)
	default:
		backend, err = backends.New()
	}
	if err != nil {
		return nil, fmt.Errorf("grpo: GoMLX backend: %w", err)
	}
	return backend, nil
}

// importSessions loads the training view of each session into its variable
// scope, and the reference weights (from refDir) into the reference
// context when there is one.
func (e *Engine) importSessions(refDir string) error {
	for _, s := range sessions {
		path := filepath.Join(e.onnxDir, s.file)
		m, head, err := trainingView(path, s.scope == "decoder")
		if err != nil {
			return err
		}
		if s.scope == "decoder" {
			e.head = head
		}
		e.models[s.scope] = m
		if err := m.VariablesToContext(e.ctx.In(s.scope)); err != nil {
			return fmt.Errorf("grpo: %s: variables: %w", path, err)
		}
		if e.refCtx != nil {
			rm := m
			if refDir != e.onnxDir {
				if rm, err = readONNX(filepath.Join(refDir, s.file)); err != nil {
					return err
				}
			}
			if err := rm.VariablesToContext(e.refCtx.In(s.scope)); err != nil {
				return fmt.Errorf("grpo: %s: reference variables: %w", path, err)
			}
		}
	}
	if e.refCtx != nil {
		for v := range e.refCtx.IterVariables() {
			v.SetTrainable(false)
		}
	}
	return nil
}

// compile builds the engine's executables over its variables.
func (e *Engine) compile() error {
	var err error
	e.logpExec, err = mlctx.NewExecAny(e.backend, e.ctx, e.graphFn(graphLogProbs))
	if err != nil {
		return fmt.Errorf("grpo: log-prob graph: %w", err)
	}
	e.gradExec, err = mlctx.NewExecAny(e.backend, e.ctx, e.graphFn(graphGrad))
	if err != nil {
		return fmt.Errorf("grpo: gradient graph: %w", err)
	}
	e.onPolicyExec, err = mlctx.NewExecAny(e.backend, e.ctx, e.graphFn(graphOnPolicy))
	if err != nil {
		return fmt.Errorf("grpo: on-policy gradient graph: %w", err)
	}
	if e.refCtx != nil {
		if e.refExec, err = mlctx.NewExecAny(e.backend, e.refCtx, e.graphFn(graphLogProbs)); err != nil {
			return fmt.Errorf("grpo: reference graph: %w", err)
		}
	}
	return nil
}

// Close releases the engine's compiled graphs, its variables' buffers and
// its GoMLX backend. It is idempotent; every other method fails after it.
// The engine holds no ONNX Runtime session (rollouts run on the trainer's
// runner).
func (e *Engine) Close() {
	if e == nil || e.closed {
		return
	}
	e.closed = true
	for _, x := range []*mlctx.Exec{e.logpExec, e.gradExec, e.onPolicyExec, e.refExec} {
		if x != nil {
			x.Finalize()
		}
	}
	e.logpExec, e.gradExec, e.onPolicyExec, e.refExec = nil, nil, nil, nil
	for _, c := range []*mlctx.Context{e.ctx, e.refCtx} {
		if c != nil {
			c.Finalize()
		}
	}
	e.params, e.models = nil, nil
	clear(e.grads)
	if e.backend != nil {
		e.backend.Finalize()
	}
}
