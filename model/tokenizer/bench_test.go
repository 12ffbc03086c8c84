package tokenizer

import (
	"strings"
	"testing"
)

// proseSentences is English prose (radiology-report and textbook style)
// for the encode benchmark.
var proseSentences = strings.Split(strings.Join([]string{
	"Magnetic resonance imaging of the right knee was performed in the sagittal, coronal and axial planes.",
	"There is a complex tear of the posterior horn of the medial meniscus extending to the inferior articular surface.",
	"The anterior cruciate ligament is intact, although its fibers appear mildly thickened and ill-defined.",
	"A small joint effusion is present, with a popliteal cyst measuring approximately three centimeters in length.",
	"The articular cartilage of the medial femoral condyle shows focal full-thickness loss with subchondral bone marrow edema.",
	"No fracture or dislocation is identified, and the extensor mechanism is preserved.",
	"Clinical correlation is recommended, and follow-up imaging may be considered if symptoms persist.",
	"Computed tomography remains the first-line investigation for suspected intracranial hemorrhage in the emergency setting.",
	"It is fast, widely available and highly sensitive to acute blood, which appears hyperdense relative to the brain parenchyma.",
	"Chest radiographs, on the other hand, are often the first images obtained when a patient presents with shortness of breath.",
	"They can show consolidation, pleural effusions, pneumothorax and changes in the size and contour of the heart.",
	"Although each modality has its strengths, the radiologist's task is to integrate the findings with the clinical question.",
	"The patient, a sixty-two-year-old man with a long history of smoking, reported a persistent cough and weight loss.",
	"His physician ordered a contrast-enhanced study, which revealed a spiculated mass in the right upper lobe.",
	"Biopsy confirmed the diagnosis, and the multidisciplinary team discussed the options for treatment the following week.",
	"Ultrasound, being free of ionizing radiation, is preferred for the evaluation of the gallbladder and for imaging in pregnancy.",
	"However, its quality depends on the operator's experience and on the patient's body habitus.",
	"Researchers have recently trained vision-language models to answer multiple-choice questions about medical images.",
	"Such models are asked to reason step by step before they give a final answer, which makes their outputs easier to audit.",
	"Whether this reasoning reflects the true basis of the prediction is a question that remains open and deserves careful study.",
}, " "), ". ")

// englishProse returns about n bytes of prose built from proseSentences in a
// fixed pseudo-random order, in paragraphs.
func englishProse(n int) string {
	r := newTestRand(1)
	var b strings.Builder
	for b.Len() < n {
		b.WriteString(proseSentences[r.IntN(len(proseSentences))])
		b.WriteString(". ")
		if r.IntN(6) == 0 {
			b.WriteString("\n\n")
		}
	}
	return b.String()
}

// BenchmarkEncode measures encode throughput on English prose with the real
// Qwen tokenizer (run with -cpu 1 for the one-core figure).
func BenchmarkEncode(b *testing.B) {
	tok := qwenTokenizer(b)
	text := englishProse(1 << 20)
	tok.Encode(text) // warm the piece cache, as a long-running process would be
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		tok.Encode(text)
	}
}

// BenchmarkEncodeMixed encodes the multilingual conformance corpus (CJK,
// emoji, non-NFC text, rare characters) with the real Qwen tokenizer.
func BenchmarkEncodeMixed(b *testing.B) {
	tok := qwenTokenizer(b)
	corpus := conformanceCorpus()
	n := 0
	for _, s := range corpus {
		n += len(s)
	}
	b.SetBytes(int64(n))
	for b.Loop() {
		for _, s := range corpus {
			tok.Encode(s)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	tok := qwenTokenizer(b)
	ids := tok.Encode(englishProse(1 << 20))
	b.SetBytes(1 << 20)
	for b.Loop() {
		tok.Decode(ids, true)
	}
}

func BenchmarkLoad(b *testing.B) {
	qwenTokenizer(b)
	for b.Loop() {
		if _, err := Load(qwenTokenizerPath); err != nil {
			b.Fatal(err)
		}
	}
}
