// Package tokenizer is a pure-Go byte-level BPE tokenizer for the Qwen2
// family (Qwen2, Qwen2-VL, Qwen2.5, Qwen3), loaded from a Hugging Face
// tokenizer.json. It reproduces the Hugging Face tokenizers pipeline id for id:
// added tokens are split out first (leftmost, longest), the rest is NFC
// normalised, split by the Qwen2 pre-tokenizer pattern, mapped to GPT-2 byte
// symbols and merged by BPE rank. Decode is the ByteLevel decoder, with
// invalid UTF-8 replaced by U+FFFD as the WHATWG decoder does.
//
// The reference is the JavaScript port (@huggingface/tokenizers, also bundled
// in @huggingface/transformers) on Node's ICU, Unicode 17.0: the
// pre-tokenizer's \p{L}, \p{N} and \s (White_Space) use generated Unicode
// 17.0 tables (Go's unicode package is at 15.0), and NFC is ICU's (x/text's
// NFC plus the characters added since Unicode 15.0, and without x/text's
// stream-safe U+034F insertion). The tables are regenerated with go generate.
//
// Special-token ids are read from the file; nothing is hard-coded. A
// *Tokenizer is immutable after loading apart from an internal, bounded,
// mutex-guarded piece cache, so it is safe for concurrent use.
//
// Train builds a small tokenizer.json of the same structure from a corpus.
package tokenizer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
	"strings"

	"github.com/medbench/medbench/internal/utf8bom"
)

// Tokenizer encodes text to token ids and back. Create one with Load or
// LoadBytes. It is safe for concurrent use.
type Tokenizer struct {
	vocab   map[string]int // BPE vocabulary (byte-level strings)
	entries []entry        // by id: BPE tokens and added tokens

	added          []addedEntry
	addedByContent map[string]int // content -> id (raw and normalised forms)
	rawSplit       splitter       // added tokens matched on the raw text
	normSplit      splitter       // added tokens with normalized:true, matched after NFC

	nfc          bool
	ignoreMerges bool
	byteID       [256]int32       // id of the one-byte symbol for each byte
	merges       pairTable        // pair (a<<32|b) -> rank<<32 | merged id
	bytePairs    []uint64         // merges of two single bytes, by b1<<8|b2
	remap        map[int32]int    // BPE id -> added id where their strings coincide
	whole        map[string]int32 // raw bytes of each BPE token that BPE maps to itself
	cache        *pieceCache
}

// entry is what an id stands for.
type entry struct {
	present bool
	added   bool
	special bool
	token   string // byte-level string (BPE) or content (added)
	bytes   []byte // decoded bytes of a BPE token
}

type addedEntry struct {
	id         int
	content    string
	special    bool
	normalized bool
}

// AddedToken is a token outside the BPE vocabulary, matched verbatim in the
// input before any other processing (for example "<|im_start|>"). Special
// tokens are dropped by Decode with skipSpecial.
type AddedToken struct {
	Content string
	Special bool
}

// file mirrors the parts of tokenizer.json the tokenizer reads.
type file struct {
	AddedTokens []struct {
		ID         *int   `json:"id"`
		Content    string `json:"content"`
		SingleWord bool   `json:"single_word"`
		Lstrip     bool   `json:"lstrip"`
		Rstrip     bool   `json:"rstrip"`
		Normalized *bool  `json:"normalized"`
		Special    bool   `json:"special"`
	} `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	PostProcessor json.RawMessage `json:"post_processor"`
	Decoder       json.RawMessage `json:"decoder"`
	Model         *struct {
		Type                    string          `json:"type"`
		Dropout                 *float64        `json:"dropout"`
		UnkToken                *string         `json:"unk_token"`
		ContinuingSubwordPrefix *string         `json:"continuing_subword_prefix"`
		EndOfWordSuffix         *string         `json:"end_of_word_suffix"`
		ByteFallback            bool            `json:"byte_fallback"`
		IgnoreMerges            bool            `json:"ignore_merges"`
		Vocab                   map[string]int  `json:"vocab"`
		Merges                  json.RawMessage `json:"merges"`
	} `json:"model"`
}

// component is a typed pipeline component (normalizer, pre-tokenizer, ...).
type component struct {
	Type          string          `json:"type"`
	Normalizers   []component     `json:"normalizers"`
	Pretokenizers []component     `json:"pretokenizers"`
	Processors    []component     `json:"processors"`
	Decoders      []component     `json:"decoders"`
	Pattern       json.RawMessage `json:"pattern"`
	Behavior      string          `json:"behavior"`
	Invert        bool            `json:"invert"`
	AddPrefix     bool            `json:"add_prefix_space"`
	UseRegex      *bool           `json:"use_regex"`
}

// Load reads a Hugging Face tokenizer.json.
func Load(path string) (*Tokenizer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	t, err := LoadBytes(utf8bom.Trim(b))
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	return t, nil
}

// LoadBytes parses the contents of a Hugging Face tokenizer.json. It accepts
// the Qwen2 structure: a BPE model without dropout, unknown token, byte
// fallback or subword affixes; an NFC (or no) normalizer; the Qwen2 Split
// pre-tokenizer followed by ByteLevel without its own regex; a ByteLevel
// decoder; and no post-processor beyond ByteLevel. Other structures are
// rejected with an error naming the part that is not supported.
func LoadBytes(b []byte) (*Tokenizer, error) {
	var f file
	if err := json.Unmarshal(utf8bom.Trim(b), &f); err != nil {
		return nil, fmt.Errorf("tokenizer: parse tokenizer.json: %w", err)
	}
	if f.Model == nil {
		return nil, fmt.Errorf("tokenizer: tokenizer.json has no model")
	}
	m := f.Model
	switch {
	case m.Type != "" && m.Type != "BPE":
		return nil, fmt.Errorf("tokenizer: model type %q is not supported (want BPE)", m.Type)
	case m.Dropout != nil && *m.Dropout != 0:
		return nil, fmt.Errorf("tokenizer: BPE dropout %v is not supported", *m.Dropout)
	case m.UnkToken != nil:
		return nil, fmt.Errorf("tokenizer: BPE unk_token %q is not supported (byte-level BPE needs none)", *m.UnkToken)
	case m.ByteFallback:
		return nil, fmt.Errorf("tokenizer: BPE byte_fallback is not supported")
	case m.ContinuingSubwordPrefix != nil && *m.ContinuingSubwordPrefix != "":
		return nil, fmt.Errorf("tokenizer: BPE continuing_subword_prefix %q is not supported", *m.ContinuingSubwordPrefix)
	case m.EndOfWordSuffix != nil && *m.EndOfWordSuffix != "":
		return nil, fmt.Errorf("tokenizer: BPE end_of_word_suffix %q is not supported", *m.EndOfWordSuffix)
	case len(m.Vocab) == 0:
		return nil, fmt.Errorf("tokenizer: BPE vocab is empty")
	}
	t := &Tokenizer{vocab: m.Vocab, ignoreMerges: m.IgnoreMerges, cache: newPieceCache()}
	var err error
	if t.nfc, err = parseNormalizer(f.Normalizer); err != nil {
		return nil, err
	}
	if err := checkPreTokenizer(f.PreTokenizer); err != nil {
		return nil, err
	}
	if err := checkPostProcessor(f.PostProcessor); err != nil {
		return nil, err
	}
	if err := checkDecoder(f.Decoder); err != nil {
		return nil, err
	}

	// Ids: BPE vocabulary, then added tokens (which win where they share an id).
	maxID := -1
	for tok, id := range m.Vocab {
		if id < 0 || id > math.MaxInt32 {
			return nil, fmt.Errorf("tokenizer: vocab token %q has invalid id %d", tok, id)
		}
		maxID = max(maxID, id)
	}
	for i, a := range f.AddedTokens {
		switch {
		case a.ID == nil || *a.ID < 0 || *a.ID > math.MaxInt32:
			return nil, fmt.Errorf("tokenizer: added_tokens[%d] %q: missing or invalid id", i, a.Content)
		case a.Content == "":
			return nil, fmt.Errorf("tokenizer: added_tokens[%d] (id %d): empty content", i, *a.ID)
		case a.SingleWord || a.Lstrip || a.Rstrip:
			return nil, fmt.Errorf("tokenizer: added_tokens[%d] %q: single_word/lstrip/rstrip are not supported", i, a.Content)
		}
		maxID = max(maxID, *a.ID)
	}
	t.entries = make([]entry, maxID+1)
	for tok, id := range m.Vocab {
		e := &t.entries[id]
		if e.present {
			return nil, fmt.Errorf("tokenizer: vocab id %d is used by both %q and %q", id, e.token, tok)
		}
		e.present, e.token = true, tok
		if bs, ok := byteLevelBytes(tok); ok {
			e.bytes = bs
		} else {
			// Not a byte-level string: decoded as its own UTF-8 (as HF does).
			e.bytes = []byte(tok)
		}
	}
	for b := range 256 {
		s := string(byteToRune[b])
		id, ok := m.Vocab[s]
		if !ok {
			return nil, fmt.Errorf("tokenizer: vocab lacks the byte-level symbol %q for byte 0x%02X", s, b)
		}
		t.byteID[b] = int32(id)
	}
	if err := t.parseMerges(m.Merges); err != nil {
		return nil, err
	}
	t.bytePairs = make([]uint64, 1<<16)
	for i := range t.bytePairs {
		t.bytePairs[i] = t.lookup(t.byteID[i>>8], t.byteID[i&0xFF])
	}

	t.addedByContent = make(map[string]int)
	var raw, norm []addedEntry
	for _, a := range f.AddedTokens {
		ae := addedEntry{id: *a.ID, content: a.Content, special: a.Special, normalized: !a.Special}
		if a.Normalized != nil {
			ae.normalized = *a.Normalized
		}
		if prev, dup := t.addedByContent[ae.content]; dup && prev != ae.id {
			return nil, fmt.Errorf("tokenizer: added token %q has two ids (%d and %d)", ae.content, prev, ae.id)
		}
		t.added = append(t.added, ae)
		t.entries[ae.id] = entry{present: true, added: true, special: ae.special, token: ae.content}
		t.addedByContent[ae.content] = ae.id
		if ae.normalized && t.nfc {
			n := nfc(ae.content)
			norm = append(norm, addedEntry{id: ae.id, content: n})
			t.addedByContent[n] = ae.id
		} else {
			raw = append(raw, ae)
		}
	}
	t.buildWhole()
	t.rawSplit = newSplitter(raw)
	t.normSplit = newSplitter(norm)
	// The reference maps every produced token string through the added-token
	// table first; mirror that where a BPE token's string is added content.
	for content, id := range t.addedByContent {
		if vid, ok := m.Vocab[content]; ok && vid != id {
			if t.remap == nil {
				t.remap = make(map[int32]int)
			}
			t.remap[int32(vid)] = id
		}
	}
	return t, nil
}

// parseMerges reads model.merges in either encoding: ["a b", ...] (tokenizers
// < 0.20) or [["a","b"], ...]. The rank of a merge is its index; a repeated
// pair keeps its last rank, as the reference implementations do.
func (t *Tokenizer) parseMerges(raw json.RawMessage) error {
	var pairs [][2]string
	trimmed := bytes.TrimLeft(raw, " \t\r\n")
	switch {
	case len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")):
	case bytes.HasPrefix(trimmed, []byte("[")) && bytes.HasPrefix(bytes.TrimLeft(trimmed[1:], " \t\r\n"), []byte("[")):
		var ps [][]string
		if err := json.Unmarshal(raw, &ps); err != nil {
			return fmt.Errorf("tokenizer: model.merges: %w", err)
		}
		pairs = make([][2]string, len(ps))
		for i, p := range ps {
			if len(p) != 2 {
				return fmt.Errorf("tokenizer: model.merges[%d]: want 2 strings, got %d", i, len(p))
			}
			pairs[i] = [2]string{p[0], p[1]}
		}
	default:
		var ss []string
		if err := json.Unmarshal(raw, &ss); err != nil {
			return fmt.Errorf("tokenizer: model.merges: %w", err)
		}
		pairs = make([][2]string, len(ss))
		for i, s := range ss {
			a, b, ok := strings.Cut(s, " ")
			if !ok || strings.Contains(b, " ") {
				return fmt.Errorf("tokenizer: model.merges[%d] %q: want two symbols separated by one space", i, s)
			}
			pairs[i] = [2]string{a, b}
		}
	}
	if len(pairs) >= math.MaxInt32 {
		return fmt.Errorf("tokenizer: model.merges: too many merges (%d)", len(pairs))
	}
	t.merges = newPairTable(len(pairs))
	for i, p := range pairs {
		a, ok1 := t.vocab[p[0]]
		b, ok2 := t.vocab[p[1]]
		m, ok3 := t.vocab[p[0]+p[1]]
		if !ok1 || !ok2 || !ok3 {
			return fmt.Errorf("tokenizer: model.merges[%d] %q %q: symbol or result not in vocab", i, p[0], p[1])
		}
		t.merges.put(pairKey(int32(a), int32(b)), uint64(i)<<32|uint64(m))
	}
	return nil
}

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

func parseNormalizer(raw json.RawMessage) (nfc bool, err error) {
	if isNull(raw) {
		return false, nil
	}
	var c component
	if err := json.Unmarshal(raw, &c); err != nil {
		return false, fmt.Errorf("tokenizer: normalizer: %w", err)
	}
	var walk func(c component) error
	walk = func(c component) error {
		switch c.Type {
		case "NFC":
			nfc = true
		case "Sequence":
			for _, s := range c.Normalizers {
				if err := walk(s); err != nil {
					return err
				}
			}
		default:
			return fmt.Errorf("tokenizer: normalizer %q is not supported (want NFC)", c.Type)
		}
		return nil
	}
	return nfc, walk(c)
}

func checkPreTokenizer(raw json.RawMessage) error {
	var c component
	if isNull(raw) {
		return fmt.Errorf("tokenizer: pre_tokenizer is missing (want the Qwen2 Split + ByteLevel sequence)")
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return fmt.Errorf("tokenizer: pre_tokenizer: %w", err)
	}
	bad := func(why string) error {
		return fmt.Errorf("tokenizer: pre_tokenizer is not supported: %s (want Sequence[Split(Qwen2 pattern, Isolated), ByteLevel(add_prefix_space=false, use_regex=false)])", why)
	}
	if c.Type != "Sequence" || len(c.Pretokenizers) != 2 {
		return bad("type " + c.Type)
	}
	split, bl := c.Pretokenizers[0], c.Pretokenizers[1]
	var pat struct {
		Regex *string `json:"Regex"`
	}
	if split.Type != "Split" || json.Unmarshal(split.Pattern, &pat) != nil || pat.Regex == nil {
		return bad("first step is not a Split with a Regex pattern")
	}
	if *pat.Regex != qwen2Pattern {
		return bad(fmt.Sprintf("split pattern %q", *pat.Regex))
	}
	if split.Behavior != "Isolated" || split.Invert {
		return bad(fmt.Sprintf("split behavior %q invert %v", split.Behavior, split.Invert))
	}
	if bl.Type != "ByteLevel" || bl.AddPrefix || (bl.UseRegex == nil || *bl.UseRegex) {
		return bad("second step is not ByteLevel without prefix space and regex")
	}
	return nil
}

func checkPostProcessor(raw json.RawMessage) error {
	if isNull(raw) {
		return nil
	}
	var c component
	if err := json.Unmarshal(raw, &c); err != nil {
		return fmt.Errorf("tokenizer: post_processor: %w", err)
	}
	if c.Type == "ByteLevel" || (c.Type == "Sequence" && len(c.Processors) == 0) {
		return nil
	}
	if c.Type == "Sequence" {
		for _, p := range c.Processors {
			if p.Type != "ByteLevel" {
				return fmt.Errorf("tokenizer: post_processor %q is not supported (want ByteLevel)", p.Type)
			}
		}
		return nil
	}
	return fmt.Errorf("tokenizer: post_processor %q is not supported (want ByteLevel)", c.Type)
}

func checkDecoder(raw json.RawMessage) error {
	var c component
	if isNull(raw) {
		return fmt.Errorf("tokenizer: decoder is missing (want ByteLevel)")
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return fmt.Errorf("tokenizer: decoder: %w", err)
	}
	if c.Type != "ByteLevel" {
		return fmt.Errorf("tokenizer: decoder %q is not supported (want ByteLevel)", c.Type)
	}
	return nil
}

func isNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || bytes.Equal(t, []byte("null"))
}

// splitter finds added-token contents in text: at the leftmost position where
// any content occurs, the longest one wins.
type splitter struct {
	byFirst [256][]addedEntry // by first byte, longest content first
	any     bool
}

func newSplitter(tokens []addedEntry) splitter {
	var s splitter
	for _, a := range tokens {
		s.byFirst[a.content[0]] = append(s.byFirst[a.content[0]], a)
		s.any = true
	}
	for i := range s.byFirst {
		sort.SliceStable(s.byFirst[i], func(a, b int) bool {
			return len(s.byFirst[i][a].content) > len(s.byFirst[i][b].content)
		})
	}
	return s
}

// split walks text: section gets each stretch between added tokens (the
// one before a token may be empty; none follows a final token) and added
// each added token's id, in text order.
func (s *splitter) split(text string, section func(string), added func(id int)) {
	for p := 0; p < len(text); {
		start, end, id := s.find(text, p)
		if start < 0 {
			section(text[p:])
			return
		}
		section(text[p:start])
		added(id)
		p = end
	}
}

// find returns the first added token in text[from:]: its start, end and id;
// start is -1 when there is none.
func (s *splitter) find(text string, from int) (start, end, id int) {
	if !s.any {
		return -1, -1, 0
	}
	for i := from; i < len(text); i++ {
		for _, a := range s.byFirst[text[i]] {
			if strings.HasPrefix(text[i:], a.content) {
				return i, i + len(a.content), a.id
			}
		}
	}
	return -1, -1, 0
}

// Encode returns the token ids of text: added tokens are split out first
// (leftmost, longest), each remaining section is NFC-normalised, split by the
// Qwen2 pre-tokenizer and BPE-encoded. No BOS or EOS is added. Invalid UTF-8
// in text is first replaced by U+FFFD.
func (t *Tokenizer) Encode(text string) []int {
	text = validUTF8(text)
	ids := make([]int, 0, len(text)/4+4)
	addID := func(id int) { ids = append(ids, id) }
	t.rawSplit.split(text, func(sec string) { ids = t.encodeSection(ids, sec) }, addID)
	return ids
}

// encodeSection encodes text that holds no raw-matched added token.
func (t *Tokenizer) encodeSection(ids []int, s string) []int {
	if s == "" {
		return ids
	}
	if t.nfc {
		s = nfc(s)
	}
	t.normSplit.split(s, func(sec string) { ids = t.encodeText(ids, sec) }, func(id int) { ids = append(ids, id) })
	return ids
}

// encodeText pre-tokenizes s and BPE-encodes each piece.
func (t *Tokenizer) encodeText(ids []int, s string) []int {
	for p := 0; p < len(s); {
		e := nextPiece(s, p)
		ids = t.encodePiece(ids, s[p:e])
		p = e
	}
	return ids
}

// Decode turns ids back into text with the ByteLevel decoder: BPE tokens are
// mapped back to bytes and decoded as UTF-8 (ill-formed sequences become
// U+FFFD, per maximal subpart); added tokens contribute their content, or
// nothing when skipSpecial is set and the token is special. Ids outside the
// vocabulary contribute nothing. No clean-up of tokenization spaces is done.
func (t *Tokenizer) Decode(ids []int, skipSpecial bool) string {
	var out, pending []byte
	for _, id := range ids {
		if id < 0 || id >= len(t.entries) || !t.entries[id].present {
			continue
		}
		e := &t.entries[id]
		if !e.added {
			pending = append(pending, e.bytes...)
			continue
		}
		if skipSpecial && e.special {
			continue
		}
		out = appendDecodedUTF8(out, pending)
		pending = pending[:0]
		out = append(out, e.token...)
	}
	out = appendDecodedUTF8(out, pending)
	return string(out)
}

// TokenID returns the id of an added token's content or of a BPE token
// (given as its byte-level string, e.g. "Ġthe").
func (t *Tokenizer) TokenID(content string) (int, bool) {
	if id, ok := t.addedByContent[content]; ok {
		return id, true
	}
	id, ok := t.vocab[content]
	return id, ok
}

// Token returns the string of an id: the content of an added token or the
// byte-level string of a BPE token.
func (t *Tokenizer) Token(id int) (string, bool) {
	if id < 0 || id >= len(t.entries) || !t.entries[id].present {
		return "", false
	}
	return t.entries[id].token, true
}

// VocabSize is one more than the largest id, added tokens included.
func (t *Tokenizer) VocabSize() int { return len(t.entries) }

// IsSpecial reports whether id is an added token marked special.
func (t *Tokenizer) IsSpecial(id int) bool {
	return id >= 0 && id < len(t.entries) && t.entries[id].special
}

// AddedTokens returns the added tokens in file order with their ids.
func (t *Tokenizer) AddedTokens() (tokens []AddedToken, ids []int) {
	for _, a := range t.added {
		tokens = append(tokens, AddedToken{Content: a.content, Special: a.special})
		ids = append(ids, a.id)
	}
	return tokens, ids
}
