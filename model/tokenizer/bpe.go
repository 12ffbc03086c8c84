package tokenizer

import (
	"strings"
	"sync"
)

const (
	// maxCachedPiece is the longest piece (in bytes) kept in the cache.
	maxCachedPiece = 256
	// cacheEntries bounds the piece cache; it is emptied when full.
	cacheEntries = 1 << 16
	// heapThreshold is the piece length (in bytes) from which the BPE loop
	// uses a priority queue instead of rescanning the pair ranks.
	heapThreshold = 128
	noRank        = ^uint64(0)
)

// pieceCache maps a piece (raw bytes) to its ids. It is bounded and safe for
// concurrent use.
type pieceCache struct {
	mu sync.RWMutex
	m  map[string][]int32
}

func newPieceCache() *pieceCache { return &pieceCache{m: make(map[string][]int32)} }

func (c *pieceCache) get(piece string) ([]int32, bool) {
	c.mu.RLock()
	v, ok := c.m[piece]
	c.mu.RUnlock()
	return v, ok
}

func (c *pieceCache) put(piece string, ids []int32) {
	c.mu.Lock()
	if len(c.m) >= cacheEntries {
		clear(c.m)
	}
	c.m[strings.Clone(piece)] = ids
	c.mu.Unlock()
}

// buildWhole finds the BPE tokens that encode to themselves: a piece equal to
// one of them needs no merging, which makes most words of common text a
// single look-up in an immutable map (no lock, no cache warm-up).
func (t *Tokenizer) buildWhole() {
	t.whole = make(map[string]int32, len(t.vocab))
	var buf [64]int32
	for i := range t.entries {
		e := &t.entries[i]
		if !e.present || e.added || len(e.bytes) < 2 || len(e.bytes) >= heapThreshold || t.vocab[e.token] != i {
			continue
		}
		syms := buf[:0]
		for _, b := range e.bytes {
			syms = append(syms, t.byteID[b])
		}
		if out := t.mergeScanBytes(syms, string(e.bytes)); len(out) == 1 && int(out[0]) == i {
			t.whole[string(e.bytes)] = int32(i)
		}
	}
}

// lookup returns rank<<32|merged for the pair (a, b), or noRank.
func (t *Tokenizer) lookup(a, b int32) uint64 {
	return t.merges.get(pairKey(a, b))
}

// encodePiece appends the BPE ids of one pre-token to ids.
func (t *Tokenizer) encodePiece(ids []int, piece string) []int {
	if len(piece) == 1 {
		return t.emit(ids, t.byteID[piece[0]])
	}
	if id, ok := t.whole[piece]; ok {
		return t.emit(ids, id)
	}
	if t.ignoreMerges {
		if id, ok := t.vocab[byteLevelString([]byte(piece))]; ok {
			return t.emit(ids, int32(id))
		}
	}
	cacheable := len(piece) <= maxCachedPiece
	if cacheable {
		if v, ok := t.cache.get(piece); ok {
			for _, id := range v {
				ids = t.emit(ids, id)
			}
			return ids
		}
	}
	var buf [64]int32
	syms := buf[:0]
	for i := 0; i < len(piece); i++ {
		syms = append(syms, t.byteID[piece[i]])
	}
	if len(syms) < heapThreshold {
		syms = t.mergeScanBytes(syms, piece)
	} else {
		syms = t.mergeHeap(syms)
	}
	for _, id := range syms {
		ids = t.emit(ids, id)
	}
	if cacheable {
		t.cache.put(piece, append([]int32(nil), syms...))
	}
	return ids
}

func (t *Tokenizer) emit(ids []int, id int32) []int {
	if t.remap != nil {
		if a, ok := t.remap[id]; ok {
			return append(ids, a)
		}
	}
	return append(ids, int(id))
}

// mergeScanBytes is mergeScan for syms that are the byte symbols of piece:
// the first ranks come from the byte-pair table.
func (t *Tokenizer) mergeScanBytes(syms []int32, piece string) []int32 {
	var rbuf [64]uint64
	ranks := rbuf[:0]
	for i := 0; i+1 < len(piece); i++ {
		ranks = append(ranks, t.bytePairs[uint16(piece[i])<<8|uint16(piece[i+1])])
	}
	return t.mergeRanks(syms, ranks)
}

// mergeScan applies merges to syms in place: repeatedly the pair with the
// lowest rank, leftmost on ties, until no pair has a rank. It keeps the rank
// of every adjacent pair and rescans that array, which is fast for short
// pieces.
func (t *Tokenizer) mergeScan(syms []int32) []int32 {
	var rbuf [64]uint64
	ranks := rbuf[:0]
	for i := 0; i+1 < len(syms); i++ {
		ranks = append(ranks, t.lookup(syms[i], syms[i+1]))
	}
	return t.mergeRanks(syms, ranks)
}

// mergeRanks is the loop of mergeScan; ranks[i] is the rank of the pair
// (syms[i], syms[i+1]).
func (t *Tokenizer) mergeRanks(syms []int32, ranks []uint64) []int32 {
	for len(syms) > 1 {
		best, bi := noRank, -1
		for i, r := range ranks {
			if r < best {
				best, bi = r, i
			}
		}
		if bi < 0 {
			break
		}
		syms[bi] = int32(uint32(best))
		syms = append(syms[:bi+1], syms[bi+2:]...)
		ranks = append(ranks[:bi], ranks[bi+1:]...)
		if bi > 0 {
			ranks[bi-1] = t.lookup(syms[bi-1], syms[bi])
		}
		if bi < len(ranks) {
			ranks[bi] = t.lookup(syms[bi], syms[bi+1])
		}
	}
	return syms
}

// mergeEntry is a candidate merge in mergeHeap: the pair starting at symbol
// pos, which was (a, b) when pushed.
type mergeEntry struct {
	rank uint64 // rank<<32 | merged id
	pos  int32
	a, b int32
}

func (e mergeEntry) less(o mergeEntry) bool {
	if e.rank>>32 != o.rank>>32 {
		return e.rank < o.rank
	}
	return e.pos < o.pos
}

// mergeHeap is mergeScan for long pieces: a linked list of symbols and a
// binary heap of candidate pairs ordered by (rank, position), with stale
// entries skipped when popped. The result is identical to mergeScan.
func (t *Tokenizer) mergeHeap(syms []int32) []int32 {
	n := len(syms)
	prev := make([]int32, n)
	next := make([]int32, n)
	alive := make([]bool, n)
	for i := range n {
		prev[i], next[i], alive[i] = int32(i-1), int32(i+1), true
	}
	next[n-1] = -1
	h := make([]mergeEntry, 0, n)
	push := func(e mergeEntry) {
		h = append(h, e)
		for i := len(h) - 1; i > 0; {
			p := (i - 1) / 2
			if !h[i].less(h[p]) {
				break
			}
			h[i], h[p] = h[p], h[i]
			i = p
		}
	}
	pop := func() mergeEntry {
		top := h[0]
		last := len(h) - 1
		h[0] = h[last]
		h = h[:last]
		for i := 0; ; {
			l, r, m := 2*i+1, 2*i+2, i
			if l < len(h) && h[l].less(h[m]) {
				m = l
			}
			if r < len(h) && h[r].less(h[m]) {
				m = r
			}
			if m == i {
				break
			}
			h[i], h[m] = h[m], h[i]
			i = m
		}
		return top
	}
	try := func(i int32) {
		j := next[i]
		if j < 0 {
			return
		}
		if r := t.lookup(syms[i], syms[j]); r != noRank {
			push(mergeEntry{rank: r, pos: i, a: syms[i], b: syms[j]})
		}
	}
	for i := 0; i+1 < n; i++ {
		try(int32(i))
	}
	for len(h) > 0 {
		e := pop()
		i := e.pos
		j := next[i]
		if !alive[i] || j < 0 || syms[i] != e.a || syms[j] != e.b {
			continue
		}
		syms[i] = int32(uint32(e.rank))
		alive[j] = false
		next[i] = next[j]
		if next[j] >= 0 {
			prev[next[j]] = i
		}
		if prev[i] >= 0 {
			try(prev[i])
		}
		try(i)
	}
	out := syms[:0]
	for i := int32(0); i >= 0; i = next[i] {
		out = append(out, syms[i])
	}
	return out
}
