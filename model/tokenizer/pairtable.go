package tokenizer

import "math/bits"

// pairTable is an open-addressing hash table from a symbol pair (a<<32|b) to
// rank<<32|merged id: the hot look-up of the BPE loop, about twice as fast as
// a Go map for this key shape. It is written only while loading.
type pairTable struct {
	slots []pairSlot
	shift uint
}

type pairSlot struct{ k, v uint64 }

const emptyPair = ^uint64(0)

func newPairTable(n int) pairTable {
	size := 1 << bits.Len(uint(2*n+1)) // load factor ≤ 1/2
	t := pairTable{slots: make([]pairSlot, size), shift: uint(64 - bits.Len(uint(size-1)))}
	for i := range t.slots {
		t.slots[i].k = emptyPair
	}
	return t
}

func (t *pairTable) index(k uint64) uint64 { return (k * 0x9E3779B97F4A7C15) >> t.shift }

// put inserts or replaces the value of k.
func (t *pairTable) put(k, v uint64) {
	mask := uint64(len(t.slots) - 1)
	for i := t.index(k); ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.k == k || s.k == emptyPair {
			s.k, s.v = k, v
			return
		}
	}
}

// get returns the value of k, or noRank.
func (t *pairTable) get(k uint64) uint64 {
	mask := uint64(len(t.slots) - 1)
	for i := t.index(k); ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.k == k {
			return s.v
		}
		if s.k == emptyPair {
			return noRank
		}
	}
}
