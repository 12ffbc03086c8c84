# Differential golden for metrics: 3000 random completions built from answer
# and think tags (in mixed case), letters, Python-only whitespace (NBSP,
# U+3000, \v, \x1c, NEL, U+2028), zero-width space, and characters whose
# Python upper() or re.IGNORECASE differs from Go's simple mappings (ı, ſ,
# ǰ, ﬁ, ß, K-sign). Scored by the seed's code (seed_golden.py).
# Regenerate: python3 seed_random.py > seed_random.json
import json, random, sys
sys.argv = ["x", "/dev/null"]
src = open(__file__.replace("seed_random.py", "seed_golden.py")).read()
src = src[:src.index("cases = json.load")]
exec(src)
rng = random.Random(20261126)
atoms = ["<answer>", "</answer>", "<ANSWER>", "</Answer>", "<think>", "</think>", "<THINK>",
         "A", "B", "C", "J", "K", "b", "i", "I", "Z", ".", "(", ")", " ", "\n", "\t", "x", "Option ",
         "\u00a0", "\u3000", "\u000b", "\u001c", "\u0085", "\u2028", "\u200b", "\ufeff",
         "\u0131", "\u017f", "\u01f0", "\ufb01", "\u00df", "\u212a", "\u00e9"]
ws = [" ", "\n", "\t", "\u00a0", "\u3000", "\u000b", "\u001c", "\u0085", "\u2028", "\u200b", "\ufeff", ""]
def piece(n):
    return "".join(rng.choice(atoms) for _ in range(rng.randint(0, n)))
def wsp():
    return "".join(rng.choice(ws) for _ in range(rng.randint(0, 2)))
rows = []
for k in range(3000):
    if k % 4 == 0:
        c = piece(12)
    else:
        ans = wsp() + rng.choice(["A", "B", "C", "I", "J", "F", "b", "i", "\u0131", "\u01f0", "\ufb01", "\u00df", "(B)", "B.", "Option B", "BB", ""]) + wsp()
        open_a, close_a = rng.choice([("<answer>", "</answer>")] * 4 + [("<ANSWER>", "</answer>"), ("<Answer>", "</ANSWER>")])
        open_t, close_t = rng.choice([("<think>", "</think>")] * 4 + [("<THINK>", "</think>")])
        c = wsp() + open_t + piece(3) + close_t + wsp() + open_a + ans + close_a + rng.choice(["", "", wsp(), piece(2)])
    sol = rng.choice(["B", "I", "J", "F", " b ", "<answer>C</answer>", "\u3000A"])
    rows.append([c, sol, accuracy_reward(c, sol), format_reward(c), extract(c)])
json.dump(rows, sys.stdout, ensure_ascii=True)
