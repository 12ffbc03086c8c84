#!/usr/bin/env python3
"""Independent reference for grpo's advantages and loss (pure Python, no deps).

It transcribes TRL v0.22 GRPOTrainer (_generate_and_score_completions and
_compute_loss) and R1-V's Qwen2VLGRPOTrainer.compute_loss tensor by tensor,
on padded [B, T] arrays with a 0/1 completion mask, i.e. the way the torch
code computes them (not the way grpo/loss.go does). Regenerate with
    python3 grpo/testdata/ref_loss.py > grpo/testdata/loss_golden.json
"""
import json, math, random

def std_unbiased(x):
    m = sum(x) / len(x)
    return math.sqrt(sum((v - m) ** 2 for v in x) / (len(x) - 1))

def advantages(rewards, G, scale):
    n = len(rewards)
    groups = [rewards[i:i + G] for i in range(0, n, G)]
    mean_g = [sum(g) / G for g in groups for _ in range(G)]
    adv = [r - m for r, m in zip(rewards, mean_g)]
    if scale in ("group", "none"):
        std = [std_unbiased(g) for g in groups for _ in range(G)]
    else:
        std = [std_unbiased(rewards)] * n
    if scale != "none":
        adv = [a / (s + 1e-4) for a, s in zip(adv, std)]
    return adv

def loss(case):
    T = case["T"]
    B = len(case["seqs"])
    pad = lambda v: v + [0.0] * (T - len(v))
    logp = [pad(s["logp"]) for s in case["seqs"]]
    old = [pad(s["old"]) if s.get("old") else pad(s["logp"]) for s in case["seqs"]]
    ref = [pad(s["ref"]) for s in case["seqs"]]
    mask = [[1.0] * len(s["logp"]) + [0.0] * (T - len(s["logp"])) for s in case["seqs"]]
    adv = [s["adv"] for s in case["seqs"]]
    beta, el, eh = case["beta"], case["eps_low"], case["eps_high"]
    per_tok = [[0.0] * T for _ in range(B)]
    kl = [[0.0] * T for _ in range(B)]
    for b in range(B):
        for t in range(T):
            kl[b][t] = math.exp(ref[b][t] - logp[b][t]) - (ref[b][t] - logp[b][t]) - 1
            c1 = math.exp(logp[b][t] - old[b][t])
            c2 = min(max(c1, 1 - el), 1 + eh)
            per_tok[b][t] = -min(c1 * adv[b], c2 * adv[b])
            if beta != 0:
                per_tok[b][t] += beta * kl[b][t]
    micro = [s["micro"] for s in case["seqs"]]
    M = max(micro) + 1
    lt = case["loss_type"]
    total = 0.0
    if lt == "dapo":
        num_items = sum(sum(m) for m in mask)
        total = sum(per_tok[b][t] * mask[b][t] for b in range(B) for t in range(T)) / num_items
    else:
        for m in range(M):
            rows = [b for b in range(B) if micro[b] == m]
            if lt == "grpo":
                l = sum(sum(per_tok[b][t] * mask[b][t] for t in range(T)) / max(sum(mask[b]), 1.0) for b in rows) / len(rows)
            elif lt == "bnpo":
                l = sum(per_tok[b][t] * mask[b][t] for b in rows for t in range(T)) / max(sum(mask[b][t] for b in rows for t in range(T)), 1.0)
            elif lt == "dr_grpo":
                l = sum(per_tok[b][t] * mask[b][t] for b in rows for t in range(T)) / (len(rows) * case["max_completion_length"])
            total += l / M
    mean_kl = sum(sum(kl[b][t] * mask[b][t] for t in range(T)) / sum(mask[b]) for b in range(B)) / B
    return total, mean_kl

def main():
    rng = random.Random(20260226)
    cases = []
    for i in range(40):
        G = rng.choice([2, 3, 4, 6])
        ngroups = rng.choice([1, 2, 3])
        scale = rng.choice(["group", "batch", "none"])
        rewards = [rng.choice([0.0, 0.5, 1.0, 1.5, 2.0]) for _ in range(G * ngroups)]
        adv = advantages(rewards, G, scale)
        T = rng.randint(2, 7)
        M = rng.choice([1, 1, 2])
        seqs = []
        for b in range(G * ngroups):
            n = rng.randint(1, T)
            lp = [math.log(rng.uniform(0.05, 0.99)) for _ in range(n)]
            multi = i % 3 == 2
            s = {"logp": lp, "ref": [v + rng.gauss(0, 0.3) for v in lp], "adv": adv[b], "micro": min(b * M // (G * ngroups), M - 1)}
            s["old"] = [v + rng.gauss(0, 0.3) for v in lp] if multi else None
            seqs.append(s)
        case = {"name": "case%02d" % i, "G": G, "scale": scale, "rewards": rewards, "advantages": adv,
                "T": T, "loss_type": ["grpo", "bnpo", "dr_grpo", "dapo"][i % 4], "beta": rng.choice([0.0, 0.04, 0.1]),
                "eps_low": 0.2, "eps_high": rng.choice([0.2, 0.28]), "max_completion_length": T, "seqs": seqs}
        case["loss"], case["kl"] = loss(case)
        cases.append(case)
    json.dump(cases, __import__("sys").stdout, indent=1)

main()
