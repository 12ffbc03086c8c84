# Golden for records.WriteSeedFile: the seed's output writer
# (test_qwen2vl_med.py lines 209-214, json.dump(..., indent=2)) run under
# CPython 3 on three complex-prompt results, two of them correct.
# Regenerate: python3 seed_py.py > seed_py.json
import json, sys
recs = [
 {"image": ["images/brain002206.png"], "problem": "What is apparent in this image?\nA) Hemorrhage\nB) Acute infarct\nC) Abscess formation\nD) Chronic infarct", "solution": "D", "question": "What is apparent in this image?", "options": ["Hemorrhage", "Acute infarct", "Abscess formation", "Chronic infarct"], "answer": "Chronic infarct", "dataset": "OmniMedVQA", "subset": "MR (Mag-netic Resonance Imaging)"},
 {"image": ["images/Covid (612).png"], "problem": "Is it <normal> & ok?\nA) No\nB) Yes.", "solution": "A", "question": "Is it <normal> & ok?", "options": ["No", "Yes."], "answer": "No", "dataset": "OmniMedVQA", "subset": "MR (Mag-netic Resonance Imaging)"},
 {"image": ["images/x\u00e9.png"], "problem": "Caf\u00e9 \u2014 \U0001F600?\nA) a\nB) b", "solution": "B", "question": "Caf\u00e9 \u2014 \U0001F600?", "options": ["a", "b"], "answer": "b", "dataset": "OmniMedVQA", "subset": "MR (Mag-netic Resonance Imaging)"},
]
outs = ["<think>x</think><answer>D</answer>", "<think>\u00e9</think>\n<answer>A</answer>", "<answer>B.</answer>"]
ext = ["D", "A", None]
final = [{"question": r, "ground_truth": r["solution"], "model_output": o, "extracted_answer": e} for r, o, e in zip(recs, outs, ext)]
correct = 2
json.dump({"accuracy": correct / len(recs) * 100, "results": final}, sys.stdout, indent=2)
