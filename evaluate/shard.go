package evaluate

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"

	"github.com/medbench/medbench/datasets"
	"github.com/medbench/medbench/records"
)

// Shard names one part of a sharded evaluation: Index (0-based) of Count.
type Shard struct {
	Index, Count int
}

// String is the I/N form ParseShard reads.
func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// ParseShard reads "I/N" with 0 ≤ I < N (I is 0-based, as Kubernetes'
// JOB_COMPLETION_INDEX and Slurm's SLURM_ARRAY_TASK_ID from --array=0-N-1).
func ParseShard(spec string) (Shard, error) {
	i, n, ok := strings.Cut(strings.TrimSpace(spec), "/")
	if !ok {
		return Shard{}, fmt.Errorf("shard %q: want I/N, e.g. 0/4 (I is 0-based)", spec)
	}
	idx, err1 := strconv.Atoi(strings.TrimSpace(i))
	cnt, err2 := strconv.Atoi(strings.TrimSpace(n))
	if err1 != nil || err2 != nil {
		return Shard{}, fmt.Errorf("shard %q: want I/N with integers, e.g. 0/4", spec)
	}
	s := Shard{Index: idx, Count: cnt}
	if err := s.valid(); err != nil {
		return Shard{}, err
	}
	return s, nil
}

func (s Shard) valid() error {
	if s.Count < 1 || s.Index < 0 || s.Index >= s.Count {
		return fmt.Errorf("shard %d/%d: want 0 ≤ I < N (I is 0-based)", s.Index, s.Count)
	}
	return nil
}

// ShardOf is the shard (0..n-1) of the dataset sample with this id: FNV-1a
// 64 of the id, mixed by SplitMix64's finalizer, modulo n. It depends on
// the id alone, so a sample's shard does not change with the batch size,
// the prompts, the order of the selection or the other samples selected,
// and every prompt of one sample lands in the same shard.
func ShardOf(id string, n int) int {
	h := fnv.New64a()
	h.Write([]byte(id))
	z := h.Sum64()
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	return int(z % uint64(n))
}

// apply keeps the samples of shard s and describes it for the manifest.
func (s Shard) apply(samples []datasets.Item) ([]datasets.Item, *records.Shard, error) {
	if err := s.valid(); err != nil {
		return nil, nil, fmt.Errorf("evaluate: %w", err)
	}
	idx := make([]int, len(samples))
	var keep []datasets.Item
	for i, x := range samples {
		idx[i] = x.Index
		if ShardOf(x.ID(), s.Count) == s.Index {
			keep = append(keep, x)
		}
	}
	return keep, &records.Shard{Index: s.Index, Count: s.Count, Samples: len(keep), Total: len(samples),
		Selection: records.EncodeIndices(idx)}, nil
}
