package main

import (
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/medbench/medbench/bench"
	"github.com/medbench/medbench/datasets"
	"github.com/medbench/medbench/evaluate"
	"github.com/medbench/medbench/hub"
	"github.com/medbench/medbench/runners"
)

// benchCommand is `medbench bench` over the runners of reg.
func benchCommand(reg *runners.Registry) *cli.Command {
	reg = modelRunners(reg)
	flags := []cli.Flag{
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
		&cli.StringSliceFlag{Name: "variant", Usage: "further model variants `DTYPE[@DIR]` measured by medbench in the same interleaved rounds as --dtype (repeatable or comma-separated; DIR defaults to --model), e.g. --dtype fp32 --variant q8,q4; the peer runs --dtype only"},
		&cli.StringFlag{Name: "peer", Value: bench.PeerTJS, Usage: "`PEER` run side by side: tjs (transformers.js with onnxruntime-node from testtools/node_modules, on the same --model, --dtype, --device and --threads) or none"},
		&cli.StringFlag{Name: "testtools", Usage: "`DIR` holding tjs-bench.mjs and node_modules (default: testtools/ in the current folder or one above it)"},
		&cli.StringFlag{Name: "node", Value: "node", Usage: "node executable `PATH` for the peer"},
		&cli.StringFlag{Name: "out", Value: "bench.json", Usage: "results `FILE` (read by medbench report --bench)"},
		&cli.StringFlag{Name: "profile", Usage: "write a pprof CPU profile of medbench's side of the timed passes to `FILE` (go tool pprof FILE; time inside ONNX Runtime shows as cgo calls)"},
	}
	// --concurrency is each --batch size in turn.
	flags = append(flags, runnerFlags(reg, "onnx", "concurrency")...)
	flags = append(flags, columnFlags()...)
	return &cli.Command{
		Name:      "bench",
		Usage:     "measure throughput and latency of a runner (default: the ONNX runner) per batch size, with transformers.js side by side",
		UsageText: "medbench bench --model DIR --data FILE [--images DIR] [--n 16] [--batch 1,4,8] [--prompt complex] [--repeats 5] [--dtype fp32 [--variant q8,q4]] [--peer tjs|none] [--runner NAME] [--out bench.json]",
		Description: "Builds --n requests from the dataset (the seed's rendered --prompt template and each record's\n" +
			"image), then for each --batch size runs --warmup discarded and --repeats timed passes over them with\n" +
			"the --runner runner (default: Qwen2-VL on ONNX Runtime; greedy). With --peer tjs, transformers.js runs the same model\n" +
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
			"With a runner that talks to a server, e.g. --runner openai --endpoint URL (a running medbench serve\n" +
			"of the same --model), each --batch size is measured over HTTP with that many requests in flight\n" +
			"(--concurrency), side by side with the in-process runner the server runs, and the notes give the\n" +
			"HTTP path's overhead per sample.\n" +
			"Exit 2 on usage or input errors, on failed samples, or when the peer fails.",
		Flags:  flags,
		Action: func(c *cli.Context) error { return benchAction(c, reg) },
	}
}

// benchSettings parses and checks the flags of `medbench bench`; check
// validates each --variant with the measured runner's own checks.
func benchSettings(c *cli.Context, check func(bench.Variant) error) (bench.Settings, error) {
	s := bench.Settings{
		N: c.Int("n"), Repeats: c.Int("repeats"), Warmup: c.Int("warmup"), Batches: c.IntSlice("batch"),
		MaxNew: c.Int("max-new-tokens"), Peer: c.String("peer"), Threads: c.Int("threads"),
		Device: c.String("device"), DType: c.String("dtype"), Out: c.String("out"),
		TestTools: c.String("testtools"), Node: c.String("node"),
		DataPath: c.String("data"), ModelDir: c.String("model"),
	}
	if c.Args().Len() > 0 {
		return s, usageErr("bench: unexpected arguments %q (all inputs are flags)", c.Args().Slice())
	}
	s.MinNew = s.MaxNew
	if c.IsSet("min-new-tokens") {
		s.MinNew = c.Int("min-new-tokens")
	}
	return s, inputErr(s.Complete(c.String("prompt"), c.StringSlice("variant"), check))
}

// benchAction measures the --runner runner; a runner that talks to a
// server is measured beside the in-process runner the server runs.
func benchAction(c *cli.Context, reg *runners.Registry) error {
	rs, err := bench.SelectRunners(reg, c.String("runner"), c)
	if err != nil {
		return usageErr("bench: %v", err)
	}
	s, err := benchSettings(c, rs.Check)
	if err != nil {
		return err
	}
	// hf: references resolve per variant: an onnx-community repository
	// downloads the dtype's files, a checkpoint is imported per dtype.
	if err := rs.ResolveVariants(&s, func(v bench.Variant) (string, map[string]any, bool, error) {
		if !hub.IsRef(v.Dir) {
			return "", nil, false, nil
		}
		dir, src, err := resolveModelRef(c, v.Dir, v.DType)
		if err != nil {
			return "", nil, false, err
		}
		return dir, src.Map(), true, nil
	}); err != nil {
		return err
	}
	data, err := evaluate.LoadData(evaluate.Data{Cmd: "bench", Path: s.DataPath, Images: c.String("images"), Format: c.String("format"),
		Columns: columnsFrom(c), ModalityMapPath: c.String("modality-map"), Selection: datasets.BySubset, Modalities: c.StringSlice("modality")})
	if err != nil {
		return inputErr(err)
	}
	s.DataFormat = data.Format
	suite := rs.Suite(s, data.Items, c.String("profile"), c.App.ErrWriter)
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := bench.Measure(ctx, suite)
	if err != nil {
		return inputErr(err)
	}
	if err := bench.WriteReport(s.Out, rep); err != nil {
		return inputErr(err)
	}
	bench.Print(c.App.Writer, rep, s)
	return nil
}
