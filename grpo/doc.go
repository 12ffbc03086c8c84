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
package grpo
