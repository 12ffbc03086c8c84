# Generates the replay golden: a 14-record MRI dataset (seed schema, ground
# truth B) and the seed's output files for both prompt types, produced by the
# scoring code of MedVLM-R1's src/eval/test_qwen2vl_med.py (lines 168-214),
# copied verbatim in logic. The complex outputs are the 14 rows of the golden
# table in docs/reference/medvlm-r1-seed.md#golden-table; the simple outputs
# are 14 variants the seed's whole-string rule must judge. Run: python3 gen_seed_outputs.py
import json, re

def extract_letter_answer(output_str):
    answer_pattern = r'<answer>\s*([A-Z])\s*</answer>'
    match = re.search(answer_pattern, output_str)
    if match:
        return match.group(1)
    return None

complex_outputs = [
    "<think>x</think><answer>B</answer>",
    "<think>x</think>\n\n<answer> b </answer>",
    "<think>x</think><answer>B.</answer>",
    "<think>x</think><answer>(B)</answer>",
    "<think>x</think><answer>B) Acute infarct</answer>",
    "<think>x</think><answer>Option B</answer>",
    "<think>x</think><answer>BB</answer>",
    "<think>x</think><answer>A</answer>",
    "<think>x</think><answer>B</answer>\n",
    " <think>x</think><answer>B</answer>",
    "<answer>B</answer>",
    "<think>x</think><answer>B</answer><answer>C</answer>",
    "<THINK>x</THINK><ANSWER>B</ANSWER>",
    "B",
]
simple_outputs = ["B", "B.", " B", "b", "A", "B\n", "\u00a0B", "(B)", "B) Acute infarct",
                  "<answer>B</answer>", "", "B", "The answer is B", "\u3000B\u3000"]
options = ["Hemorrhage", "Acute infarct", "Abscess formation", "Chronic infarct"]
dataset = []
for i in range(14):
    q = f"Case {i}: what is apparent in this image?"
    dataset.append({
        "image": [f"images/case ({i}).png"],
        "problem": q + "\n" + "\n".join(f"{chr(65+j)}) {o}" for j, o in enumerate(options)),
        "solution": "B", "question": q, "options": options, "answer": options[1],
        "dataset": "OmniMedVQA", "subset": "MR (Mag-netic Resonance Imaging)",
    })
with open("dataset.json", "w", encoding="utf-8") as f:
    json.dump(dataset, f, indent=4)

for prompt_type, outs in (("complex", complex_outputs), ("simple", simple_outputs)):
    final_output = []
    correct_number = 0
    for input_example, original_output in zip(dataset, outs):
        ground_truth = input_example['solution']
        if prompt_type == 'complex':
            model_answer = extract_letter_answer(original_output)
        elif prompt_type == 'simple':
            model_answer = original_output
        if model_answer is not None and model_answer == ground_truth:
            correct_number += 1
        final_output.append({'question': input_example, 'ground_truth': ground_truth,
                             'model_output': original_output, 'extracted_answer': model_answer})
    accuracy = correct_number / len(dataset) * 100
    print(f"{prompt_type}: Accuracy: {accuracy:.2f}% ({correct_number}/{len(dataset)})")
    with open(f"seed_MRI_{prompt_type}.json", "w") as f:
        json.dump({'accuracy': accuracy, 'results': final_output}, f, indent=2)
