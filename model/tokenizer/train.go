package tokenizer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
)

// Train learns a byte-level BPE on corpus and returns a complete Hugging Face
// tokenizer.json in the Qwen2 structure (NFC normalizer; Split on the Qwen2
// pattern then ByteLevel; ByteLevel post-processor and decoder; BPE model with
// merges as pairs), which Load and the Hugging Face implementations read.
//
// Ids 0..255 are the 256 byte symbols in GPT-2 bytes_to_unicode order (so
// "\n" is 198 and "Ġ" is 220, as in Qwen); the learned tokens follow, one per
// merge, until the BPE vocabulary has vocabSize entries or no pair is left;
// the added tokens come last, with consecutive ids, in the given order
// (special ones with normalized=false, others normalized=true, as Hugging
// Face defaults). vocabSize counts the byte symbols and learned tokens, not
// the added tokens, and must be at least 256.
//
// The corpus is processed as Encode would: added-token text is split out and
// not learned from; the rest is NFC-normalised and pre-tokenized. Each merge
// is the most frequent adjacent pair, ties broken by the smaller left id, then
// the smaller right id, so the output bytes are a function of the inputs.
// Pair counts are updated incrementally but the best pair is found by a scan,
// which suits the small vocabularies of fixtures and tests (2,000 tokens from
// 600 KB of text take under a second).
func Train(corpus []string, vocabSize int, added []AddedToken) ([]byte, error) {
	if vocabSize < 256 {
		return nil, fmt.Errorf("tokenizer: train: vocabSize %d is below the 256 byte symbols", vocabSize)
	}
	seen := make(map[string]bool, len(added))
	var raw, norm []addedEntry
	for i, a := range added {
		if a.Content == "" {
			return nil, fmt.Errorf("tokenizer: train: added token %d has empty content", i)
		}
		if seen[a.Content] {
			return nil, fmt.Errorf("tokenizer: train: added token %q is listed twice", a.Content)
		}
		seen[a.Content] = true
		if a.Special {
			raw = append(raw, addedEntry{content: a.Content})
		} else {
			norm = append(norm, addedEntry{content: nfc(a.Content)})
		}
	}
	rawSplit, normSplit := newSplitter(raw), newSplitter(norm)

	// Count pieces.
	counts := make(map[string]int)
	addText := func(s string) {
		for p := 0; p < len(s); {
			e := nextPiece(s, p)
			counts[s[p:e]]++
			p = e
		}
	}
	skip := func(int) {}
	addSection := func(s string) { normSplit.split(nfc(s), addText, skip) }
	for _, text := range corpus {
		rawSplit.split(validUTF8(text), addSection, skip)
	}

	// Vocabulary: byte symbols in GPT-2 order.
	var tokens []string
	byteSym := [256]int32{}
	order := gpt2ByteOrder()
	for id, b := range order {
		byteSym[b] = int32(id)
		tokens = append(tokens, string(byteToRune[b]))
	}
	index := make(map[string]int32, vocabSize)
	for id, s := range tokens {
		index[s] = int32(id)
	}

	// Words (unique pieces, sorted for determinism) as symbol sequences.
	pieces := make([]string, 0, len(counts))
	for p := range counts {
		pieces = append(pieces, p)
	}
	sort.Strings(pieces)
	words := make([][]int32, len(pieces))
	freq := make([]int, len(pieces))
	for i, p := range pieces {
		w := make([]int32, len(p))
		for j := 0; j < len(p); j++ {
			w[j] = byteSym[p[j]]
		}
		words[i], freq[i] = w, counts[p]
	}
	pairCount := make(map[uint64]int)
	where := make(map[uint64]map[int]struct{})
	addPairs := func(wi, sign int) {
		w := words[wi]
		for j := 0; j+1 < len(w); j++ {
			k := pairKey(w[j], w[j+1])
			pairCount[k] += sign * freq[wi]
			if sign > 0 {
				if where[k] == nil {
					where[k] = make(map[int]struct{})
				}
				where[k][wi] = struct{}{}
			}
		}
	}
	for wi := range words {
		addPairs(wi, 1)
	}

	var merges [][2]string
	for len(tokens) < vocabSize {
		best, bestN := uint64(0), 0
		for k, n := range pairCount {
			if n > bestN || (n == bestN && n > 0 && k < best) {
				best, bestN = k, n
			}
		}
		if bestN <= 0 {
			break
		}
		a, b := int32(best>>32), int32(uint32(best))
		s := tokens[a] + tokens[b]
		id, ok := index[s]
		if !ok {
			id = int32(len(tokens))
			tokens = append(tokens, s)
			index[s] = id
		}
		merges = append(merges, [2]string{tokens[a], tokens[b]})
		ws := make([]int, 0, len(where[best]))
		for wi := range where[best] {
			ws = append(ws, wi)
		}
		sort.Ints(ws)
		for _, wi := range ws {
			addPairs(wi, -1)
			w := words[wi]
			out := w[:0]
			for j := 0; j < len(w); j++ {
				if j+1 < len(w) && w[j] == a && w[j+1] == b {
					out = append(out, id)
					j++
				} else {
					out = append(out, w[j])
				}
			}
			words[wi] = out
			addPairs(wi, 1)
		}
		for k, n := range pairCount {
			if n == 0 {
				delete(pairCount, k)
				delete(where, k)
			}
		}
	}
	return writeTokenizerJSON(tokens, merges, added)
}

// gpt2ByteOrder lists the bytes in the order of GPT-2's bytes_to_unicode:
// the printable ones first, then the remapped ones in increasing order.
func gpt2ByteOrder() []byte {
	var printable, rest []byte
	for b := 0; b < 256; b++ {
		if byteToRune[b] == rune(b) {
			printable = append(printable, byte(b))
		} else {
			rest = append(rest, byte(b))
		}
	}
	return append(printable, rest...)
}

// jsonString encodes s as a JSON string without HTML escaping.
func jsonString(buf *bytes.Buffer, s string) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil { // cannot fail for a string
		panic(err)
	}
	buf.Write(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
}

// writeTokenizerJSON renders the tokenizer.json of a trained model.
func writeTokenizerJSON(tokens []string, merges [][2]string, added []AddedToken) ([]byte, error) {
	var b bytes.Buffer
	const byteLevel = `{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":false,"use_regex":false}`
	b.WriteString("{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n  \"added_tokens\": [")
	for i, a := range added {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("\n    {\"id\": ")
		b.WriteString(strconv.Itoa(len(tokens) + i))
		b.WriteString(", \"content\": ")
		jsonString(&b, a.Content)
		fmt.Fprintf(&b, ", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": %v, \"special\": %v}", !a.Special, a.Special)
	}
	if len(added) > 0 {
		b.WriteString("\n  ")
	}
	b.WriteString("],\n  \"normalizer\": {\"type\": \"NFC\"},\n")
	b.WriteString("  \"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Split\", \"pattern\": {\"Regex\": ")
	jsonString(&b, qwen2Pattern)
	b.WriteString("}, \"behavior\": \"Isolated\", \"invert\": false}, " + byteLevel + "]},\n")
	b.WriteString("  \"post_processor\": " + byteLevel + ",\n  \"decoder\": " + byteLevel + ",\n")
	b.WriteString("  \"model\": {\n    \"type\": \"BPE\",\n    \"dropout\": null,\n    \"unk_token\": null,\n" +
		"    \"continuing_subword_prefix\": \"\",\n    \"end_of_word_suffix\": \"\",\n    \"fuse_unk\": false,\n" +
		"    \"byte_fallback\": false,\n    \"ignore_merges\": false,\n    \"vocab\": {")
	for id, s := range tokens {
		if id > 0 {
			b.WriteByte(',')
		}
		b.WriteString("\n      ")
		jsonString(&b, s)
		b.WriteString(": ")
		b.WriteString(strconv.Itoa(id))
	}
	b.WriteString("\n    },\n    \"merges\": [")
	for i, m := range merges {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("\n      [")
		jsonString(&b, m[0])
		b.WriteString(", ")
		jsonString(&b, m[1])
		b.WriteByte(']')
	}
	if len(merges) > 0 {
		b.WriteString("\n    ")
	}
	b.WriteString("]\n  }\n}\n")
	if !json.Valid(b.Bytes()) {
		return nil, fmt.Errorf("tokenizer: train: produced invalid JSON")
	}
	return b.Bytes(), nil
}
