package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/medbench/medbench/grpo"
	"github.com/medbench/medbench/internal/interrupt"
	"github.com/medbench/medbench/runners"
)

// trainCommand is `medbench train`; its rollouts and evals run on reg's
// ONNX runner.
func trainCommand(reg *runners.Registry) *cli.Command {
	return &cli.Command{
		Name:  "train",
		Usage: "GRPO training (MedVLM-R1's algorithm), SFT, and import of TRL/R1-V trainer_state.json logs",
		Subcommands: []*cli.Command{
			trainGRPOCommand(reg),
			trainSFTCommand(reg),
			trainImportCommand(),
		},
	}
}

// trainDataFlags are shared by grpo and sft.
func trainDataFlags(reg *runners.Registry) []cli.Flag {
	return append([]cli.Flag{
		&cli.StringFlag{Name: "model", Required: true, Usage: "starting model `DIR` (onnx-community Qwen2-VL layout, fp32: config.json, tokenizer.json, onnx/*.onnx), or hf:ORG/NAME[@REVISION] (fp32 files; a checkpoint is imported once)"},
		&cli.StringFlag{Name: "data", Required: true, Usage: "training dataset `FILE` (the seed's JSON schema or parquet)"},
		&cli.StringFlag{Name: "images", Usage: "images root `DIR` (default: the dataset file's folder)"},
		&cli.IntFlag{Name: "limit", Usage: "use the first `N` records only (0 = all)"},
		&cli.StringFlag{Name: "eval-data", Usage: "eval dataset `FILE`, scored greedily before, every --eval-steps and after training (default: none)"},
		&cli.StringFlag{Name: "eval-images", Usage: "eval images root `DIR` (default: the eval file's folder)"},
		&cli.IntFlag{Name: "eval-limit", Usage: "evaluate the first `N` eval records only (0 = all)"},
		&cli.StringFlag{Name: "eval-template", Value: "complex", Usage: "eval prompt `NAME`: simple, complex, train, short or NAME=FILE"},
		&cli.IntFlag{Name: "eval-max-new-tokens", Value: 512, Usage: "greedy eval decoding budget `N`"},
		&cli.StringFlag{Name: "template", Value: "train", Usage: "training prompt `NAME`: train (the seed's 8-space template), complex, simple or NAME=FILE"},
		&cli.StringFlag{Name: "out", Required: true, Usage: "output `DIR`: metrics.jsonl, checkpoints/step-N/, final/ (a model dir `medbench eval` runs), eval/, train_manifest.json"},
		&cli.Float64Flag{Name: "lr", Usage: "peak learning rate `LR` (sft: linear decay to 0, default 1e-3; grpo: shaped by --lr-scheduler, default 1e-6 as the seed)"},
		&cli.Float64Flag{Name: "weight-decay", Usage: "AdamW weight decay"},
		&cli.Float64Flag{Name: "max-grad-norm", Value: 1, Usage: "gradient clipping `NORM`"},
		&cli.Uint64Flag{Name: "seed", Value: 42, Usage: "`SEED` for data order and sampling: same seed, same run"},
		&cli.StringSliceFlag{Name: "freeze", Usage: "regular expressions over `SESSION/INITIALIZER` names not to train (e.g. ^vision/)"},
		&cli.StringFlag{Name: "backend", Usage: "GoMLX `BACKEND` for the update engine (default go:ops_sequential; xla:cpu / xla:cuda need a PJRT plugin)"},
		&cli.BoolFlag{Name: "quiet", Usage: "no per-step progress lines on stderr"},
		invalidItemsFlag(),
	}, trainRunnerFlags(reg)...)
}

func progress(c *cli.Context) *os.File {
	if c.Bool("quiet") {
		return nil
	}
	return os.Stderr
}

func trainGRPOCommand(reg *runners.Registry) *cli.Command {
	d := grpo.DefaultConfig()
	flags := append(trainDataFlags(reg),
		&cli.IntFlag{Name: "num-generations", Value: d.NumGenerations, Usage: "completions per prompt `G` (the seed's script: 4; its released checkpoint: 6)"},
		&cli.IntFlag{Name: "prompts-per-step", Value: d.PromptsPerStep, Usage: "prompts per optimizer step `N` (the seed: 1 per device × gradient accumulation 2)"},
		&cli.IntFlag{Name: "grad-accum", Value: d.GradAccum, Usage: "micro-batches per optimizer step `N` (divides --prompts-per-step; the loss of each is divided by N, as TRL)"},
		&cli.IntFlag{Name: "epochs", Value: d.Epochs, Usage: "passes over the data `N`"},
		&cli.IntFlag{Name: "max-steps", Usage: "stop after `N` optimizer steps (0 = --epochs); the linear and cosine schedules reach 0 at the last step"},
		&cli.IntFlag{Name: "warmup-steps", Usage: "linear warmup `N` steps"},
		&cli.StringFlag{Name: "lr-scheduler", Value: string(grpo.LRLinear), Usage: "learning-rate schedule `KIND` after warmup: linear (decay to 0 at the last step: the seed), constant or cosine (TRL's lr_scheduler_type)"},
		&cli.Float64Flag{Name: "beta", Value: d.Beta, Usage: "KL weight `BETA` (k3 estimator against the frozen initial model; 0 disables the reference)"},
		&cli.StringFlag{Name: "loss-type", Value: string(d.LossType), Usage: "loss aggregation `TYPE`: grpo (per-sequence token mean, then mean: the seed), bnpo, dr_grpo, dapo (TRL)"},
		&cli.Float64Flag{Name: "epsilon", Value: d.EpsilonLow, Usage: "ratio clipping `EPS` (low bound; matters only with --num-iterations > 1)"},
		&cli.Float64Flag{Name: "epsilon-high", Usage: "upper ratio clipping `EPS` (default: --epsilon; DAPO uses 0.28)"},
		&cli.IntFlag{Name: "num-iterations", Value: d.NumIterations, Usage: "updates per generation batch `MU` (TRL's num_iterations)"},
		&cli.StringFlag{Name: "scale-rewards", Value: string(d.ScaleRewards), Usage: "advantage scaling `HOW`: group (the seed), batch or none (Dr. GRPO)"},
		&cli.StringSliceFlag{Name: "reward", Value: cli.NewStringSlice(grpo.DefaultRewardNames...), Usage: "reward functions `LIST` summed per completion: accuracy, format"},
		&cli.IntFlag{Name: "max-prompt-length", Value: d.MaxPromptLength, Usage: "longest prompt `N` tokens (longer is an error; the seed silently truncated)"},
		&cli.IntFlag{Name: "max-completion-length", Value: d.MaxCompletionLength, Usage: "max new tokens `N` per completion"},
		&cli.Float64Flag{Name: "temperature", Value: d.Temperature, Usage: "sampling temperature (the seed: 1)"},
		&cli.IntFlag{Name: "top-k", Value: d.TopK, Usage: "sampling top-k (the seed: 50)"},
		&cli.Float64Flag{Name: "top-p", Value: d.TopP, Usage: "sampling top-p (the seed: 1)"},
		&cli.IntFlag{Name: "save-steps", Value: d.SaveSteps, Usage: "checkpoint every `N` steps into checkpoints/step-N (0 = final only)"},
		&cli.IntFlag{Name: "eval-steps", Usage: "eval every `N` steps (0 = before and after only)"},
		&cli.BoolFlag{Name: "resume", Usage: "continue from the last checkpoint in --out (same flags)"},
	)
	return &cli.Command{
		Name:      "grpo",
		Usage:     "train with GRPO: ORT rollouts, seed rewards, group advantages, GoMLX updates",
		UsageText: "medbench train grpo --model DIR --data FILE [--images DIR] --out DIR [options]",
		Flags:     flags,
		Action: func(c *cli.Context) error {
			in, src, err := trainInputs(c)
			if err != nil {
				return err
			}
			lt, err := grpo.ParseLossType(c.String("loss-type"))
			if err != nil {
				return usageErr("--loss-type: %v", err)
			}
			sched, err := grpo.ParseLRScheduler(c.String("lr-scheduler"))
			if err != nil {
				return usageErr("--lr-scheduler: %v", err)
			}
			sr, err := grpo.ParseScaleRewards(c.String("scale-rewards"))
			if err != nil {
				return usageErr("--scale-rewards: %v", err)
			}
			cfg := grpo.UserConfig(grpo.Config{
				ModelDir: c.String("model"), ModelSource: src, Samples: in.Samples, Template: in.Template, Out: c.String("out"),
				NumGenerations: c.Int("num-generations"), PromptsPerStep: c.Int("prompts-per-step"), GradAccum: c.Int("grad-accum"),
				Epochs: c.Int("epochs"), MaxSteps: c.Int("max-steps"), LR: c.Float64("lr"), WarmupSteps: c.Int("warmup-steps"), LRScheduler: sched, Beta: c.Float64("beta"),
				WeightDecay: c.Float64("weight-decay"), MaxGradNorm: c.Float64("max-grad-norm"), LossType: lt,
				EpsilonLow: c.Float64("epsilon"), EpsilonHigh: c.Float64("epsilon-high"), NumIterations: c.Int("num-iterations"), ScaleRewards: sr,
				Rewards: c.StringSlice("reward"), MaxPromptLength: c.Int("max-prompt-length"), MaxCompletionLength: c.Int("max-completion-length"),
				MinPixels: c.Int("min-pixels"), MaxPixels: c.Int("max-pixels"), Temperature: c.Float64("temperature"), TopK: c.Int("top-k"),
				TopP: c.Float64("top-p"), SaveSteps: c.Int("save-steps"), EvalSteps: c.Int("eval-steps"), EvalSamples: in.EvalSamples,
				EvalTemplate: in.EvalTemplate, EvalMaxNewTokens: c.Int("eval-max-new-tokens"), Seed: c.Uint64("seed"), Resume: c.Bool("resume"),
				Freeze: c.StringSlice("freeze"), Threads: c.Int("threads"), ORTLib: c.String("ort-lib"), Backend: c.String("backend"),
				Open: trainOpener(c, reg),
			})
			if w := progress(c); w != nil {
				cfg.Log = w
			}
			ctx, stop, release := trainInterrupts(c)
			defer release()
			cfg.Stop = stop
			res, err := grpo.Train(ctx, cfg)
			if err != nil {
				return trainErr("train grpo", c.String("out"), err)
			}
			res.WriteSummary(os.Stdout)
			return nil
		},
	}
}

// trainInterrupts: the first Ctrl-C finishes the step in progress and
// writes a checkpoint; the second aborts.
func trainInterrupts(c *cli.Context) (context.Context, <-chan struct{}, func()) {
	return interrupt.TwoStage(c.Context, c.App.ErrWriter,
		"interrupt: finishing the current step, then writing a checkpoint; Ctrl-C again to abort",
		"second interrupt: aborting without a checkpoint")
}

// trainErr maps a trainer error to the CLI's: an interruption exits 130
// with one line saying where the checkpoint is and how to go on.
func trainErr(cmd, out string, err error) error {
	if msg, ok := grpo.InterruptMessage(cmd, out, err); ok {
		return interruptedErr("%s", msg)
	}
	return inputErr(err)
}

// trainInputs resolves --model hf:... (its source for the manifest) and
// loads what both trainers take (grpo.LoadInputs).
func trainInputs(c *cli.Context) (*grpo.Loaded, map[string]any, error) {
	s, err := resolveModelFlag(c, "fp32") // training runs on the fp32 files
	if err != nil {
		return nil, nil, err
	}
	var src map[string]any
	if s != nil {
		src = s.Map()
	}
	in, err := grpo.LoadInputs(grpo.Inputs{Cmd: commandPath(c), Data: c.String("data"), Images: c.String("images"), Limit: c.Int("limit"),
		EvalData: c.String("eval-data"), EvalImages: c.String("eval-images"), EvalLimit: c.Int("eval-limit"),
		Template: c.String("template"), EvalTemplate: c.String("eval-template"), InvalidItems: c.String("invalid-items"), Warn: c.App.ErrWriter})
	if err != nil {
		return nil, nil, inputErr(err)
	}
	return in, src, nil
}

func trainSFTCommand(reg *runners.Registry) *cli.Command {
	flags := append(trainDataFlags(reg),
		&cli.StringFlag{Name: "completion", Value: grpo.DefaultSFTCompletion, Usage: "target `TEXT`; {answer} is replaced by the answer letter (EOS appended)"},
		&cli.StringFlag{Name: "answers", Value: "random", Usage: "answer letters `HOW`: random (one drawn per prompt and epoch: teaches the format, not the answers), all (every option once per prompt: the format with a uniform answer distribution) or solution"},
		&cli.IntFlag{Name: "epochs", Value: 1, Usage: "passes over the data `N`"},
		&cli.IntFlag{Name: "batch", Value: 4, Usage: "prompts per optimizer step `N`"},
	)
	return &cli.Command{
		Name:      "sft",
		Usage:     "supervised fine-tuning on given completions (token-mean cross-entropy), e.g. to teach the tiny fixture the answer format",
		UsageText: "medbench train sft --model DIR --data FILE [--images DIR] --out DIR [options]",
		Flags:     flags,
		Action: func(c *cli.Context) error {
			in, _, err := trainInputs(c)
			if err != nil {
				return err
			}
			if !strings.Contains(c.String("completion"), "{answer}") {
				return usageErr("--completion %q has no {answer} placeholder", c.String("completion"))
			}
			cfg := grpo.SFTConfig{
				ModelDir: c.String("model"), Samples: in.Samples, Template: in.Template, Out: c.String("out"),
				Completion: c.String("completion"), Answers: c.String("answers"), Epochs: c.Int("epochs"), Batch: c.Int("batch"),
				LR: c.Float64("lr"), WeightDecay: c.Float64("weight-decay"), MaxGradNorm: c.Float64("max-grad-norm"), Seed: c.Uint64("seed"),
				MinPixels: c.Int("min-pixels"), MaxPixels: c.Int("max-pixels"), Threads: c.Int("threads"), ORTLib: c.String("ort-lib"),
				Backend: c.String("backend"), Freeze: c.StringSlice("freeze"), EvalSamples: in.EvalSamples, EvalTemplate: in.EvalTemplate,
				EvalMaxNewTokens: c.Int("eval-max-new-tokens"), Open: trainOpener(c, reg),
			}
			if w := progress(c); w != nil {
				cfg.Log = w
			}
			ctx, stop, release := trainInterrupts(c)
			defer release()
			cfg.Stop = stop
			res, err := grpo.SFT(ctx, cfg)
			if err != nil {
				return trainErr("train sft", c.String("out"), err)
			}
			res.WriteSummary(os.Stdout)
			return nil
		},
	}
}

func trainImportCommand() *cli.Command {
	return &cli.Command{
		Name:      "import",
		Usage:     "convert a TRL / R1-V trainer_state.json (log_history) into metrics.jsonl under both naming schemes",
		UsageText: "medbench train import --trainer-state FILE --out DIR",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "trainer-state", Required: true, Usage: "Hugging Face Trainer `FILE` (e.g. MedVLM-R1's released trainer_state.json)"},
			&cli.StringFlag{Name: "out", Required: true, Usage: "output `DIR`; receives metrics.jsonl"},
		},
		Action: func(c *cli.Context) error {
			p, n, err := grpo.ImportTrainerStateTo(c.String("trainer-state"), c.String("out"))
			if err != nil {
				return inputErr(err)
			}
			fmt.Printf("%d logged steps -> %s\n", n, p)
			return nil
		},
	}
}
