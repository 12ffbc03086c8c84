# Golden values for metrics tests: the seed's reward functions (MedVLM-R1
# grpo.py accuracy_reward / format_reward, lines 64-141) and eval extraction
# (test_qwen2vl_med.py extract_letter_answer), copied verbatim in logic and run
# under CPython 3 on seed_golden_cases.json ([completion, solution] pairs).
# Regenerate: python3 seed_golden.py seed_golden_cases.json > seed_golden.json
# Output rows: [completion, solution, accuracy_reward, format_reward, extract].
import re, json, sys
def accuracy_reward(content, sol):
    sol_match = re.search(r"<answer>(.*?)</answer>", sol, flags=re.DOTALL|re.IGNORECASE)
    ground_truth = sol_match.group(1).strip() if sol_match else sol.strip()
    content_match = re.search(r"<answer>(.*?)</answer>", content, flags=re.DOTALL|re.IGNORECASE)
    student_answer = content_match.group(1).strip() if content_match else ""
    gt_letter = re.sub(r"\s+", "", ground_truth.upper())
    sa_str = student_answer.strip(); sa_upper = sa_str.upper()
    if not sa_upper: return 0.0
    letters_found = re.findall(r"[A-J]", sa_upper)
    distinct_letters = set(l.upper() for l in letters_found)
    if len(letters_found) == 1 and len(distinct_letters) == 1:
        found_letter = distinct_letters.pop()
        if found_letter == gt_letter:
            leftover = re.sub(r"(?i)" + found_letter, "", sa_str, count=1)
            return 0.5 if leftover.strip() else 1.0
        return 0.0
    return 0.0
def format_reward(content):
    return 1.0 if re.fullmatch(r"<think>.*?</think>\s*<answer>.*?</answer>", content, re.DOTALL) else 0.0
def extract(s):
    m = re.search(r'<answer>\s*([A-Z])\s*</answer>', s)
    return m.group(1) if m else None
cases = json.load(open(sys.argv[1]))
out=[]
for c, sol in cases:
    out.append([c, sol, accuracy_reward(c, sol), format_reward(c), extract(c)])
json.dump(out, sys.stdout, ensure_ascii=True)
