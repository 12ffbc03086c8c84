package metrics

// The seed's reward regexes (grpo.py lines 64-141), with Python semantics:
// re.DOTALL|re.IGNORECASE for the answer block, re.DOTALL and fullmatch for
// the format, Python's Unicode \s.
var (
	rewardAnswerRe = pyRegexp(`(?is)<answer>(.*?)</answer>`)
	formatRe       = pyRegexp(`(?s)\A(?:<think>.*?</think>\s*<answer>.*?</answer>)\z`)
)

// AccuracyReward is MedVLM-R1's GRPO accuracy_reward for one completion
// (grpo.py, docs/reference/medvlm-r1-seed.md#rewards): 1.0 when the first
// <answer>…</answer> block (tags
// case-insensitive) contains exactly one letter A–J, counted over its
// upper-cased text, equal to the solution's letter, and nothing else; 0.5
// when that letter is right but other text remains after removing its first
// case-insensitive occurrence; 0 otherwise. The solution may itself be
// wrapped in <answer> tags; whitespace inside it is ignored.
func AccuracyReward(completion, solution string) float64 {
	groundTruth := pyStrip(solution)
	if m := rewardAnswerRe.FindStringSubmatch(solution); m != nil {
		groundTruth = pyStrip(m[1])
	}
	studentAnswer := ""
	if m := rewardAnswerRe.FindStringSubmatch(completion); m != nil {
		studentAnswer = pyStrip(m[1])
	}
	gtLetter := pyRemoveSpace(pyUpper(groundTruth))
	saStr := pyStrip(studentAnswer)
	saUpper := pyUpper(saStr)
	if saUpper == "" {
		return 0
	}
	var found rune
	count := 0
	for _, r := range saUpper {
		if r >= 'A' && r <= 'J' {
			count++
			found = r
		}
	}
	if count != 1 {
		return 0
	}
	if string(found) != gtLetter {
		return 0
	}
	// leftover = re.sub(r"(?i)" + found_letter, "", sa_str, count=1)
	leftover := saStr
	for i, r := range saStr {
		if pyFoldEqualASCII(r, found) {
			leftover = saStr[:i] + saStr[i+len(string(r)):]
			break
		}
	}
	if pyStrip(leftover) != "" {
		return 0.5
	}
	return 1
}

// FormatReward is MedVLM-R1's GRPO format_reward for one completion: 1.0 when
// the whole completion matches <think>.*?</think>\s*<answer>.*?</answer>
// (re.fullmatch, DOTALL, case-sensitive tags), else 0.
func FormatReward(completion string) float64 {
	if formatRe.MatchString(completion) {
		return 1
	}
	return 0
}
