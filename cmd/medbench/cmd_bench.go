package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/urfave/cli/v2"

	"github.com/medbench/medbench/bench"
	"github.com/medbench/medbench/datasets"
	"github.com/medbench/medbench/hub"
	"github.com/medbench/medbench/runners"
	"github.com/medbench/medbench/runners/openai"
	"github.com/medbench/medbench/runners/qwen2vl"
)

func init() { register(benchCommand) }

// Peer names for --peer.
const (
	peerTJS  = "tjs"
	peerNone = "none"
)

func benchCommand() *cli.Command {
	flags := []cli.Flag{
		&cli.StringFlag{Name: "model", Required: true, Usage: "Qwen2-VL model `DIR` (onnx-community layout) or hf:ORG/NAME[@REVISION], used by medbench and by the peer"},
		&cli.StringFlag{Name: "data", Required: true, Usage: "dataset `FILE` (seed JSON schema or Hugging Face parquet) the requests are built from"},
		&cli.StringFlag{Name: "images", Usage: "images root `DIR` (default: the dataset file's folder)"},
		&cli.StringFlag{Name: "format", Usage: "dataset `FORMAT`: json or parquet (default: by the file's extension)"},
		&cli.StringSliceFlag{Name: "modality", Value: cli.NewStringSlice("all"), Usage: "modalities the requests are drawn from (`LIST`, comma-separated, or all)"},
		modalityMapFlag(),
		&cli.IntFlag{Name: "n", Value: 16, Usage: "requests per pass `N` (also --n N), taken in turn from each modality (fewer if the dataset has fewer)"},
		&cli.IntSliceFlag{Name: "batch", Value: cli.NewIntSlice(1, 4, 8), Usage: "batch sizes to measure (`LIST`, comma-separated); the peer always runs batch 1"},
		&cli.StringFlag{Name: "prompt", Value: "complex", Usage: "prompt `TEMPLATE`: simple, complex, train, or NAME=FILE"},
		&cli.IntFlag{Name: "repeats", Value: 5, Usage: "measured passes `N` per configuration"},
		&cli.IntFlag{Name: "warmup", Value: 1, Usage: "discarded passes `N` before the measured ones (the peer runs them in each of its processes, after model load)"},
		&cli.IntFlag{Name: "max-new-tokens", Value: 64, Usage: "tokens generated per request `N`"},
		&cli.IntFlag{Name: "min-new-tokens", DefaultText: "--max-new-tokens", Usage: "tokens before EOS may end a request `N`; the default, --max-new-tokens, makes every request generate exactly --max-new-tokens tokens on both sides, so that tokens/s compare per token"},
		&cli.StringFlag{Name: "dtype", Value: "fp32", Usage: "weight variant `DTYPE` (fp32, fp16, q8/quantized, int8, uint8, q4, q4f16, bnb4), for both sides"},
		&cli.StringSliceFlag{Name: "variant", Usage: "further model variants `DTYPE[@DIR]` measured by medbench in the same interleaved rounds as --dtype (repeatable or comma-separated; DIR defaults to --model), e.g. --dtype fp32 --variant q8,q4; the peer runs --dtype only"},
		&cli.StringFlag{Name: "device", Value: "cpu", Usage: "`DEVICE` cpu or cuda (cuda:N for medbench alone, with --peer none)"},
		kvCacheFlag(),
		&cli.IntFlag{Name: "threads", Usage: "ONNX Runtime intra-op threads `N` on both sides (0 = ORT default; N > 0 also sets 1 inter-op thread on both)"},
		&cli.StringFlag{Name: "ort-lib", Usage: "ONNX Runtime library `PATH` for medbench (default: $MEDBENCH_ORT_LIB, then .cache/ort/1.29.0 from `make setup`)"},
		&cli.StringFlag{Name: "peer", Value: peerTJS, Usage: "`PEER` run side by side: tjs (transformers.js with onnxruntime-node from testtools/node_modules) or none"},
		&cli.StringFlag{Name: "testtools", Usage: "`DIR` holding tjs-bench.mjs and node_modules (default: testtools/ in the current folder or one above it)"},
		&cli.StringFlag{Name: "node", Value: "node", Usage: "node executable `PATH` for the peer"},
		&cli.StringFlag{Name: "out", Value: "bench.json", Usage: "results `FILE` (read by medbench report --bench)"},
		&cli.StringFlag{Name: "profile", Usage: "write a pprof CPU profile of medbench's side of the timed passes to `FILE` (go tool pprof FILE; time inside ONNX Runtime shows as cgo calls)"},
	}
	flags = append(flags, benchOpenAIFlags()...)
	flags = append(flags, columnFlags()...)
	return &cli.Command{
		Name:      "bench",
		Usage:     "measure throughput and latency of the ONNX runner per batch size, with transformers.js side by side",
		UsageText: "medbench bench --model DIR --data FILE [--images DIR] [--n 16] [--batch 1,4,8] [--prompt complex] [--repeats 5] [--dtype fp32 [--variant q8,q4]] [--peer tjs|none] [--out bench.json]",
		Description: "Builds --n requests from the dataset (the seed's rendered --prompt template and each record's\n" +
			"image), then for each --batch size runs --warmup discarded and --repeats timed passes over them with\n" +
			"the Qwen2-VL ONNX Runtime runner (greedy). With --peer tjs, transformers.js runs the same model\n" +
			"directory, images and prompts (batch 1, greedy, the same new-token bounds and intra-op threads) in\n" +
			"--repeats node processes; each loads the model, runs --warmup untimed passes and times every case\n" +
			"from image read to decoded text, the scope of the runner's Generate call. Model load and process\n" +
			"start are never timed. By default --min-new-tokens equals --max-new-tokens, so both sides generate\n" +
			"exactly the same number of tokens and tokens/s compare per token. The timed passes are interleaved\n" +
			"in rounds (the peer's pass, then one pass per variant and batch size) so that a shift in the machine's\n" +
			"load touches every configuration alike. --variant adds model variants (another dtype, or DTYPE@DIR)\n" +
			"measured in the same rounds; each is opened and runs its --warmup passes before the next is opened,\n" +
			"and the resident memory it added is reported. Decode tokens/s count the tokens after each request's\n" +
			"first over the time from its first token to its end (image encoding and prefill excluded).\n" +
			"Prints per configuration samples/s (median [min-max]), tokens/s (median), the spread (IQR as % of\n" +
			"the median), p50/p90 batch latency, and the ratios against the peer (>1: medbench is faster), and\n" +
			"writes --out with every pass, the runner info, the load average and the ratios.\n" +
			"With --runner openai --endpoint URL (a running medbench serve of the same --model), each --batch\n" +
			"size is also measured over HTTP with that many requests in flight (--concurrency), side by side\n" +
			"with the in-process runner, and the notes give the HTTP path's overhead per sample.\n" +
			"Exit 2 on usage or input errors, on failed samples, or when the peer fails.",
		Flags:  flags,
		Action: benchAction,
	}
}

// benchSettings are the parsed and checked flags of `medbench bench`.
type benchSettings struct {
	n, repeats, warmup   int
	batches              []int
	maxNew, minNew       int
	peer                 string
	prompt               datasets.Template
	equalLengths         bool
	threads              int
	device, dtype, out   string
	testtools, nodeExec  string
	modalities           []string
	dataPath, modelDir   string
	modelSource          *hub.ModelSource // --model hf:...
	imagesRoot, dataForm string
	// variants are the model variants medbench measures: --dtype on
	// --model first, then each --variant.
	variants []benchVariant
}

// benchVariant is one model directory and dtype measured by medbench.
type benchVariant struct{ dtype, dir string }

// parseVariants turns --variant items DTYPE[@DIR] into variants after the
// main one; a repeated variant is a usage error.
func parseVariants(main benchVariant, items []string) ([]benchVariant, error) {
	out := []benchVariant{main}
	for _, it := range items {
		v := benchVariant{dir: main.dir}
		dt, dir, hasDir := strings.Cut(strings.TrimSpace(it), "@")
		v.dtype = dt
		if hasDir {
			if dir == "" {
				return nil, usageErr("bench: --variant %q: empty model directory after @", it)
			}
			v.dir = dir
		}
		if err := qwen2vl.CheckDType(v.dtype); err != nil {
			return nil, usageErr("bench: --variant %q: %v", it, err)
		}
		for _, o := range out {
			if o == v {
				return nil, usageErr("bench: --variant %q: %s on %s is measured already", it, v.dtype, v.dir)
			}
		}
		out = append(out, v)
	}
	return out, nil
}

func parseBenchFlags(c *cli.Context) (benchSettings, error) {
	s := benchSettings{
		n: c.Int("n"), repeats: c.Int("repeats"), warmup: c.Int("warmup"), batches: c.IntSlice("batch"),
		maxNew: c.Int("max-new-tokens"), peer: c.String("peer"), threads: c.Int("threads"),
		device: c.String("device"), dtype: c.String("dtype"), out: c.String("out"),
		testtools: c.String("testtools"), nodeExec: c.String("node"), modalities: c.StringSlice("modality"),
		dataPath: c.String("data"), modelDir: c.String("model"), imagesRoot: c.String("images"),
	}
	if c.Args().Len() > 0 {
		return s, usageErr("bench: unexpected arguments %q (all inputs are flags)", c.Args().Slice())
	}
	switch {
	case s.n < 1:
		return s, usageErr("bench: --n %d: want at least 1", s.n)
	case s.repeats < 1:
		return s, usageErr("bench: --repeats %d: want at least 1", s.repeats)
	case s.warmup < 0:
		return s, usageErr("bench: --warmup %d: want 0 or more", s.warmup)
	case s.maxNew < 1:
		return s, usageErr("bench: --max-new-tokens %d: want at least 1", s.maxNew)
	case len(s.batches) == 0:
		return s, usageErr("bench: --batch: no batch size given")
	case s.out == "":
		return s, usageErr("bench: --out: no file given")
	}
	seen := map[int]bool{}
	for _, b := range s.batches {
		if b < 1 {
			return s, usageErr("bench: --batch %d: want at least 1", b)
		}
		if seen[b] {
			return s, usageErr("bench: --batch %d given twice", b)
		}
		seen[b] = true
	}
	s.minNew = s.maxNew
	if c.IsSet("min-new-tokens") {
		s.minNew = c.Int("min-new-tokens")
		if s.minNew < 0 || s.minNew > s.maxNew {
			return s, usageErr("bench: --min-new-tokens %d: want 0 to --max-new-tokens (%d)", s.minNew, s.maxNew)
		}
	}
	s.equalLengths = s.minNew == s.maxNew
	switch s.peer {
	case peerTJS:
		if d := s.device; d != "cpu" && d != "cuda" && d != "cuda:0" {
			return s, usageErr("bench: --device %q: the transformers.js peer runs on cpu or cuda; use --peer none for %s", d, d)
		}
	case peerNone:
	default:
		return s, usageErr("bench: --peer %q: want tjs or none", s.peer)
	}
	t, err := datasets.ParseTemplate(c.String("prompt"))
	if err != nil {
		if strings.Contains(c.String("prompt"), "=") {
			return s, inputErr(fmt.Errorf("bench: --prompt %s: %w", c.String("prompt"), err))
		}
		return s, usageErr("bench: --prompt: %v", err)
	}
	s.prompt = t
	if s.variants, err = parseVariants(benchVariant{dtype: s.dtype, dir: s.modelDir}, c.StringSlice("variant")); err != nil {
		return s, err
	}
	return s, nil
}

func benchAction(c *cli.Context) error {
	s, err := parseBenchFlags(c)
	if err != nil {
		return err
	}
	// hf: references resolve per variant: an onnx-community repository
	// downloads the dtype's files, a checkpoint is imported per dtype.
	for i, v := range s.variants {
		if !hub.IsRef(v.dir) {
			continue
		}
		dir, src, err := resolveModelRef(c, v.dir, v.dtype)
		if err != nil {
			return err
		}
		s.variants[i].dir = dir
		if i == 0 {
			s.modelDir, s.modelSource = dir, src
		}
	}
	samples, format, err := loadEvalData(c, s.dataPath)
	if err != nil {
		return err
	}
	s.dataForm = format
	samples, err = datasets.Select(samples, datasets.BySubset, s.modalities)
	if err != nil {
		return inputErr(fmt.Errorf("bench: %s: %w", s.dataPath, err))
	}
	reqs := benchRequests(interleaveModalities(samples, s.n), s.prompt)

	cfg, err := onnxConfig(c)
	if err != nil {
		return err
	}
	cfg.Sampling = runners.SeedPreset()
	cfg.Sampling.MaxNewTokens, cfg.Sampling.MinNewTokens = s.maxNew, s.minNew

	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()

	rep := &bench.Report{Created: time.Now().UTC(), Settings: s.reportSettings(len(reqs))}
	if len(reqs) < s.n {
		rep.Notes = append(rep.Notes, fmt.Sprintf("the selected data hold %d samples, fewer than --n %d: each pass has %d requests", len(reqs), s.n, len(reqs)))
	}
	if !s.equalLengths {
		rep.Notes = append(rep.Notes, fmt.Sprintf("--min-new-tokens %d < --max-new-tokens %d: EOS may end requests early, so the two sides may generate different numbers of tokens; compare tokens/s, not samples/s", s.minNew, s.maxNew))
	}

	// The peer is set up first: a missing node or testtools fails before
	// any measurement.
	var pc *bench.PeerConfig
	if s.peer == peerTJS {
		tmp, err := os.MkdirTemp("", "medbench-bench-*")
		if err != nil {
			return inputErr(fmt.Errorf("bench: %w", err))
		}
		defer os.RemoveAll(tmp)
		if pc, err = tjsPeerConfig(ctx, s, reqs, tmp); err != nil {
			return err
		}
		fmt.Fprintf(c.App.ErrWriter, "bench: peer %s (%s)\n", pc.Name, pc.Info.Runtime)
	}
	// Each variant is opened and warmed up (its --warmup passes per batch
	// size) before the next is opened, so that the resident memory it adds
	// can be read; the timed passes then interleave every variant.
	type config struct {
		name  string
		r     *qwen2vl.Runner
		batch int
		mem   *bench.Memory
	}
	var confs []config
	for _, v := range s.variants {
		vc := cfg
		vc.ModelDir, vc.DType = v.dir, v.dtype
		rss0, _, memErr := bench.ReadRSS()
		r, err := qwen2vl.Open(ctx, vc)
		if err != nil {
			return inputErr(fmt.Errorf("bench: runner %s: %w", v.dtype, err))
		}
		defer r.Close()
		var first []config
		for _, b := range s.batches {
			name := fmt.Sprintf("medbench batch=%d", b)
			if len(s.variants) > 1 {
				name = fmt.Sprintf("medbench %s batch=%d", v.dtype, b)
			}
			if s.warmup > 0 {
				if _, err := bench.Run(ctx, bench.Config{Name: name, Runner: r, Requests: reqs, Batch: b, Repeats: s.warmup}); err != nil {
					return benchRunErr(err)
				}
			}
			first = append(first, config{name: name, r: r, batch: b})
		}
		if rss1, peak, err := bench.ReadRSS(); err == nil && memErr == nil {
			first[0].mem = &bench.Memory{BeforeMiB: rss0, AfterMiB: rss1, AddedMiB: rss1 - rss0, PeakMiB: peak}
		}
		confs = append(confs, first...)
	}

	remote, err := benchOpenAIRunners(c, s.batches, cfg.Sampling)
	if err != nil {
		return err
	}
	if path := c.String("profile"); path != "" {
		stopProfile, err := startCPUProfile(path)
		if err != nil {
			return inputErr(err)
		}
		defer stopProfile()
	}

	// Passes are interleaved, one round at a time (the peer's pass, then
	// one pass per variant and batch size, then the openai runner's), so
	// that a change in the machine's load touches every configuration
	// alike. The peer runs its warmup passes in every process.
	var peerParts []*bench.Result
	parts := make([][]*bench.Result, len(confs))
	remoteParts := make([][]*bench.Result, len(s.batches))
	for round := 0; round < s.repeats; round++ {
		fmt.Fprintf(c.App.ErrWriter, "bench: round %d of %d: %d requests per configuration\n", round+1, s.repeats, len(reqs))
		if pc != nil {
			res, err := runPeerPass(ctx, *pc, len(reqs))
			if err != nil {
				return err
			}
			peerParts = append(peerParts, res)
		}
		for i, cf := range confs {
			res, err := bench.Run(ctx, bench.Config{Name: cf.name, Runner: cf.r, Requests: reqs, Batch: cf.batch, Repeats: 1})
			if err != nil {
				return benchRunErr(err)
			}
			if p := res.Passes[0]; p.Errors > 0 {
				return inputErr(fmt.Errorf("bench: %s: round %d: %d of %d samples failed, first: %s", cf.name, round+1, p.Errors, p.Samples, p.FirstError))
			}
			parts[i] = append(parts[i], res)
		}
		for i, b := range s.batches {
			if remote == nil {
				break
			}
			warm := 0
			if round == 0 {
				warm = s.warmup
			}
			name := fmt.Sprintf("openai concurrency=%d", b)
			res, err := bench.Run(ctx, bench.Config{Name: name, Runner: remote[i], Requests: reqs, Batch: b, Warmup: warm, Repeats: 1})
			if err != nil {
				return benchRunErr(err)
			}
			if p := res.Passes[0]; p.Errors > 0 {
				return inputErr(fmt.Errorf("bench: %s: round %d: %d of %d samples failed, first: %s", name, round+1, p.Errors, p.Samples, p.FirstError))
			}
			remoteParts[i] = append(remoteParts[i], res)
		}
	}
	for i, ps := range parts {
		res, err := bench.Merge(ps...)
		if err != nil {
			return inputErr(err)
		}
		res.Memory = confs[i].mem
		rep.Results = append(rep.Results, res)
	}
	// The HTTP path against the first variant's in-process pass at the same
	// batch size (its concurrency).
	for i, ps := range remoteParts {
		if remote == nil {
			break
		}
		res, err := bench.Merge(ps...)
		if err != nil {
			return inputErr(err)
		}
		rep.Notes = append(rep.Notes, httpOverheadNote(rep.Results[i], res))
		rep.Results = append(rep.Results, res)
	}
	var peer *bench.Result
	if pc != nil {
		if peer, err = bench.Merge(peerParts...); err != nil {
			return inputErr(err)
		}
	}
	if peer != nil {
		rep.Notes = append(rep.Notes, peerNotes(rep.Results, peer, s)...)
		rep.Baseline = peer.Name
		rep.Ratios = map[string][]bench.Ratio{}
		for _, res := range rep.Results {
			rep.Ratios[res.Name] = bench.Compare(res, peer)
		}
		rep.Results = append(rep.Results, peer)
	}
	if err := writeBenchReport(s.out, rep); err != nil {
		return inputErr(err)
	}
	printBench(c.App.Writer, rep, s)
	return nil
}

// benchRunErr maps a measurement error: an interruption is said as such.
func benchRunErr(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return inputErr(fmt.Errorf("bench: interrupted: %w", err))
	}
	return inputErr(err)
}

// interleaveModalities takes up to n samples, one from each modality in
// turn (file order within a modality), so that a short pass still mixes the
// modalities as the full test set does.
func interleaveModalities(samples []datasets.Item, n int) []datasets.Item {
	var order []string
	by := map[string][]datasets.Item{}
	for _, s := range samples {
		if _, ok := by[s.Modality]; !ok {
			order = append(order, s.Modality)
		}
		by[s.Modality] = append(by[s.Modality], s)
	}
	out := make([]datasets.Item, 0, min(n, len(samples)))
	for i := 0; len(out) < n && len(out) < len(samples); i++ {
		for _, m := range order {
			if i < len(by[m]) && len(out) < n {
				out = append(out, by[m][i])
			}
		}
	}
	return out
}

// benchRequests renders the prompt for each sample, as `medbench eval` does.
func benchRequests(samples []datasets.Item, t datasets.Template) []runners.Request {
	reqs := make([]runners.Request, len(samples))
	for i, s := range samples {
		n := max(len(s.ImagePaths), len(s.ImageBytes))
		imgs := make([]runners.Image, n)
		for j := range imgs {
			if j < len(s.ImageBytes) && s.ImageBytes[j] != nil {
				imgs[j].Bytes = s.ImageBytes[j]
			}
			if j < len(s.ImagePaths) {
				imgs[j].Path = s.ImagePaths[j]
			}
		}
		reqs[i] = runners.Request{ID: s.ID(), Prompt: t.Name, Images: imgs, Text: t.Render(s.Record.Problem)}
	}
	return reqs
}

// tjsPeerConfig prepares the transformers.js peer on the same requests;
// its case file and any embedded images go to tmp.
func tjsPeerConfig(ctx context.Context, s benchSettings, reqs []runners.Request, tmp string) (*bench.PeerConfig, error) {
	tt := s.testtools
	if tt == "" {
		tt = "."
	}
	dir, err := bench.FindTestTools(tt)
	if err != nil {
		return nil, usageErr("bench: --peer tjs: %v; or use --peer none", err)
	}
	cases, err := bench.TJSCases(reqs, tmp)
	if err != nil {
		return nil, inputErr(err)
	}
	p := bench.TJSPeer{TestTools: dir, Node: s.nodeExec, ModelDir: s.modelDir, DType: s.dtype, Device: s.device,
		Threads: s.threads, Warmup: s.warmup, MaxNewTokens: s.maxNew, MinNewTokens: s.minNew}
	pc, err := p.PeerConfig(ctx, "transformers.js batch=1", cases, filepath.Join(tmp, "cases.json"), 1)
	if err != nil {
		if errors.Is(err, bench.ErrNoTJS) {
			return nil, usageErr("bench: --peer tjs: %v; or use --peer none", err)
		}
		return nil, inputErr(err)
	}
	return &pc, nil
}

// runPeerPass runs one peer process (its warmup passes, then one timed
// pass) and checks that it answered every case.
func runPeerPass(ctx context.Context, pc bench.PeerConfig, cases int) (*bench.Result, error) {
	pc.Repeats = 1
	res, err := bench.RunPeer(ctx, pc)
	if err != nil {
		return nil, benchRunErr(err)
	}
	if p := res.Passes[0]; p.Samples != cases {
		return nil, inputErr(fmt.Errorf("bench: %s printed %d results for %d cases", pc.Name, p.Samples, cases))
	}
	return res, nil
}

// peerNotes checks that both sides did the same work per pass: the same
// prompt tokens (image resizing may differ) and, with equal bounds, the same
// generated tokens.
func peerNotes(results []*bench.Result, peer *bench.Result, s benchSettings) []string {
	var notes []string
	if len(peer.Passes) == 0 {
		return nil
	}
	pp := peer.Passes[0]
	for _, r := range results {
		if len(r.Passes) == 0 {
			continue
		}
		p := r.Passes[0]
		if p.PromptTokens != pp.PromptTokens {
			notes = append(notes, fmt.Sprintf("%s: %d prompt tokens per pass, %s: %d (image resizing differs; the work per sample is not identical)",
				r.Name, p.PromptTokens, peer.Name, pp.PromptTokens))
		}
		if s.equalLengths && p.GeneratedTokens != pp.GeneratedTokens {
			notes = append(notes, fmt.Sprintf("%s: %d generated tokens per pass, %s: %d, although both were bounded to %d per request",
				r.Name, p.GeneratedTokens, peer.Name, pp.GeneratedTokens, s.maxNew))
		}
	}
	return notes
}

func (s benchSettings) reportSettings(requests int) map[string]any {
	threads := any(s.threads)
	if s.threads == 0 {
		threads = "ORT default"
	}
	variants := make([]string, len(s.variants))
	for i, v := range s.variants {
		variants[i] = v.dtype + "@" + v.dir
	}
	m := map[string]any{
		"data": s.dataPath, "format": s.dataForm, "model": s.modelDir, "requests": requests, "prompt": s.prompt.Name,
		"batches": s.batches, "repeats": s.repeats, "warmup": s.warmup, "max_new_tokens": s.maxNew, "min_new_tokens": s.minNew,
		"equal_lengths": s.equalLengths, "decoding": "greedy", "dtype": s.dtype, "device": s.device, "threads": threads, "peer": s.peer,
		"variants": variants,
	}
	if s.modelSource != nil {
		m["model_source"] = s.modelSource.Map()
	}
	return m
}

func writeBenchReport(path string, rep *bench.Report) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("bench: %s: %w", path, err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	return nil
}

// printBench writes the results table, the ratios and the notes.
func printBench(w io.Writer, rep *bench.Report, s benchSettings) {
	threads := "ORT default"
	if s.threads > 0 {
		threads = strconv.Itoa(s.threads)
	}
	fmt.Fprintf(w, "%v requests, prompt %s, %d..%d new tokens (greedy), %s on %s, intra-op threads %s (both sides), %d timed passes after %d warmup\n",
		rep.Settings["requests"], s.prompt.Name, s.minNew, s.maxNew, s.dtype, s.device, threads, s.repeats, s.warmup)
	if len(rep.Results) > 0 {
		m := rep.Results[0].Machine
		fmt.Fprintf(w, "machine: %s/%s, %d CPUs, %s\n", m.OS, m.Arch, m.CPUs, m.Go)
	}
	t := table.NewWriter()
	t.SetOutputMirror(w)
	t.AppendHeader(table.Row{"Configuration", "Samples/s median [min–max]", "Tokens/s median", "Decode tok/s median [min–max]", "Spread %", "p50 ms", "p90 ms", "RSS +MiB", "Load avg 1m"})
	for _, r := range rep.Results {
		load := "n/a"
		if r.Load != nil {
			load = fmt.Sprintf("%.2f→%.2f", r.Load.Before[0], r.Load.After[0])
		}
		decode, mem := "n/a", ""
		if d := r.DecodeTokensPerSec; d.N > 0 {
			decode = fmt.Sprintf("%.2f [%.2f–%.2f]", d.Median, d.Min, d.Max)
		}
		if r.Memory != nil {
			mem = fmt.Sprintf("%.0f", r.Memory.AddedMiB)
		}
		t.AppendRow(table.Row{r.Name,
			fmt.Sprintf("%.3f [%.3f–%.3f]", r.SamplesPerSec.Median, r.SamplesPerSec.Min, r.SamplesPerSec.Max),
			fmt.Sprintf("%.1f", r.TokensPerSec.Median), decode, fmt.Sprintf("%.1f", r.SamplesPerSec.SpreadPct),
			fmt.Sprintf("%.1f", r.P50MS), fmt.Sprintf("%.1f", r.P90MS), mem, load})
	}
	t.SetStyle(table.StyleLight)
	t.Render()
	for _, r := range rep.Results {
		ratios, ok := rep.Ratios[r.Name]
		if !ok {
			continue
		}
		parts := make([]string, 0, len(ratios))
		for _, x := range ratios {
			parts = append(parts, fmt.Sprintf("%s %.2f× [%.2f–%.2f]", x.Metric, x.Median, x.Low, x.High))
		}
		fmt.Fprintf(w, "%s vs %s: %s\n", r.Name, rep.Baseline, strings.Join(parts, ", "))
	}
	printBreakdown(w, rep)
	for _, r := range rep.Results {
		var gen, all float64
		for _, p := range r.Passes {
			gen, all = gen+p.GenerateSeconds, all+p.Seconds
		}
		if gen > 0 && all > 0 {
			fmt.Fprintf(w, "%s: %.0f%% of its timed request time is in generate(); the rest is image read, preprocessing, tokenization and decoding\n", r.Name, 100*gen/all)
		}
	}
	if len(s.variants) > 1 {
		fmt.Fprintln(w, "RSS +MiB: resident memory the variant added when it was opened and warmed up (variants are opened in turn, in one process)")
		if n := len(rep.Results); n > 0 {
			var peak float64
			for _, r := range rep.Results {
				if r.Memory != nil {
					peak = max(peak, r.Memory.PeakMiB)
				}
			}
			if peak > 0 {
				fmt.Fprintf(w, "process peak RSS after loading every variant: %.0f MiB\n", peak)
			}
		}
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	fmt.Fprintf(w, "results in %s\n", s.out)
}

// printBreakdown prints where each configuration's time went (runners that
// keep a profile): latencies, the share inside ONNX Runtime's Run calls and
// the harness's own share, and peak memory.
func printBreakdown(w io.Writer, rep *bench.Report) {
	t := table.NewWriter()
	t.SetOutputMirror(w)
	t.AppendHeader(table.Row{"Configuration", "TTFT ms p50/p90", "Prefill ms p50/p90", "Decode ms/token p50/p90", "In runtime %", "Harness %", "of which prepare/sampling %", "Peak RSS MiB"})
	rows := 0
	q := func(x *bench.Quantiles) string {
		if x == nil {
			return "—"
		}
		return fmt.Sprintf("%.1f / %.1f", x.P50, x.P90)
	}
	for _, r := range rep.Results {
		rss := "—"
		if r.PeakRSSBytes > 0 {
			rss = fmt.Sprintf("%.0f", float64(r.PeakRSSBytes)/(1<<20))
		}
		b := r.Breakdown
		if b == nil {
			if r.PeakRSSBytes > 0 {
				t.AppendRow(table.Row{r.Name, "—", "—", "—", "—", "—", "—", rss})
				rows++
			}
			continue
		}
		t.AppendRow(table.Row{r.Name, q(b.FirstTokenMS), q(b.PrefillMS), q(b.DecodeStepMS),
			fmt.Sprintf("%.1f [%.1f–%.1f]", b.RuntimePct.Median, b.RuntimePct.Min, b.RuntimePct.Max),
			fmt.Sprintf("%.1f [%.1f–%.1f]", b.HarnessPct.Median, b.HarnessPct.Min, b.HarnessPct.Max),
			fmt.Sprintf("%.1f / %.1f", b.PreparePct.Median, b.SamplingPct.Median), rss})
		rows++
	}
	if rows > 0 {
		t.SetStyle(table.StyleLight)
		t.Render()
	}
}

// startCPUProfile starts a pprof CPU profile into path; the returned
// function stops it and closes the file.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("bench: --profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("bench: --profile %s: %w", path, err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// benchOpenAIFlags are the openai runner's flags for bench; its concurrency
// is each --batch size in turn.
func benchOpenAIFlags() []cli.Flag {
	flags := []cli.Flag{&cli.StringFlag{Name: "runner", Value: "onnx", Usage: "`RUNNER`: onnx (in-process only) or openai (also over HTTP against --endpoint, side by side)"}}
	for _, f := range openai.Flags() {
		if f.Names()[0] != "concurrency" {
			flags = append(flags, f)
		}
	}
	return flags
}

// benchOpenAIRunners opens one openai runner per batch size (its
// concurrency) for --runner openai, or returns nil for --runner onnx.
func benchOpenAIRunners(c *cli.Context, batches []int, smp runners.Sampling) ([]runners.Runner, error) {
	switch c.String("runner") {
	case "onnx":
		return nil, nil
	case "openai":
	default:
		return nil, usageErr("bench: --runner %q: want onnx or openai", c.String("runner"))
	}
	var out []runners.Runner
	for _, b := range batches {
		cfg, err := openai.ConfigFromCLI(c, smp)
		if err != nil {
			return nil, usageErr("bench: %v", err)
		}
		cfg.Concurrency = b
		r, err := openai.Open(c.Context, cfg)
		if err != nil {
			return nil, inputErr(fmt.Errorf("bench: %w", err))
		}
		out = append(out, r)
	}
	return out, nil
}

// httpOverheadNote compares a pass over HTTP with the in-process pass at
// the same batch size: the extra wall time per sample (median over passes).
func httpOverheadNote(local, remote *bench.Result) string {
	per := func(r *bench.Result) []float64 {
		xs := make([]float64, len(r.Passes))
		for i, p := range r.Passes {
			xs[i] = 1000 * p.Seconds / float64(max(p.Samples, 1))
		}
		return xs
	}
	l, h := per(local), per(remote)
	diff := make([]float64, min(len(l), len(h)))
	for i := range diff {
		diff[i] = h[i] - l[i]
	}
	st := bench.Summarize(diff)
	return fmt.Sprintf("%s vs %s: HTTP path overhead %.2f ms per sample (median over %d rounds, min %.2f, max %.2f; in-process %.2f ms per sample)",
		remote.Name, local.Name, st.Median, len(diff), st.Min, st.Max, bench.Summarize(l).Median)
}
