// Package grpo is medbench's GRPO trainer: the algorithm of MedVLM-R1's
// training code (R1-V's Qwen2VLGRPOTrainer, itself TRL ~v0.14 GRPO), with
// TRL's later options (loss types, ε-clipping, reward scaling), an update
// engine on GoMLX + onnx-gomlx that loads and writes the same ONNX model
// directory that `medbench eval` runs, supervised fine-tuning on given
// completions, and metrics.jsonl logging under both R1-V's and TRL's names.
//
// The numerical core (advantages, per-token loss and its gradient with
// respect to the per-token log-probabilities, KL, AdamW, gradient clipping,
// learning-rate schedule) is plain Go on float64 slices, so that it can be
// checked against hand-computed references independently of the engine. The
// engine only computes per-token log-probabilities and back-propagates the
// per-token loss gradient dL/dlogp that the core hands it (chain rule:
// ∇θL = Σ_t dL/dlogp_t · ∇θ logp_t). On the policy that generated a batch
// the core hands it that gradient in closed form instead (OnPolicy: a
// linear term plus the KL term as a function of logp), so one fused
// forward+backward pass per group replaces a log-prob pass followed by a
// backward pass; Loss then recomputes the logged values from the same
// log-probs.
//
// Where things are:
//   - the maths: advantage.go, loss.go, optim.go, schedule.go, rewards.go;
//   - the engine: engine.go (configuration, NewEngine, Close), onnximport.go
//     (reading the ONNX sessions and the graph surgery that makes the
//     training view), params.go (trained tensors, tying, gradient
//     accumulation, the optimizer step), layout.go (a Group as graph
//     inputs, by the model's geometry), graph.go (the compute graph and the
//     passes that run it), dotvjp.go (the faster DotGeneral gradient),
//     checkpoint.go (model, optimizer and trainer-state files);
//   - the GRPO loop: config.go, train.go (Train: setup, then per batch
//     rollout.go → score.go → update.go → steplog.go, then the final
//     model), eval.go, outdir.go, interrupt.go, metrics.go; sft.go is the
//     supervised trainer on the same engine.
package grpo
