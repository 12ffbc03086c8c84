package bench

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
)

// Load is the system load average (1, 5 and 15 minutes) read before and
// after a measurement.
type Load struct {
	Before [3]float64 `json:"before"`
	After  [3]float64 `json:"after"`
}

// loadAvgPath is where Linux publishes the load average.
const loadAvgPath = "/proc/loadavg"

// ReadLoadAvg returns the 1, 5 and 15 minute load averages (Linux only).
func ReadLoadAvg() ([3]float64, error) {
	b, err := os.ReadFile(loadAvgPath)
	if err != nil {
		return [3]float64{}, fmt.Errorf("bench: load average: %w", err)
	}
	return parseLoadAvg(string(b))
}

// parseLoadAvg parses the first three fields of /proc/loadavg.
func parseLoadAvg(s string) ([3]float64, error) {
	var out [3]float64
	f := strings.Fields(s)
	if len(f) < 3 {
		return out, fmt.Errorf("bench: %s: want 3 load fields, got %q", loadAvgPath, s)
	}
	for i := range out {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return out, fmt.Errorf("bench: %s: field %d: %w", loadAvgPath, i+1, err)
		}
		out[i] = v
	}
	return out, nil
}

// Memory is the process's resident set (Linux /proc/self/status) in MiB:
// VmRSS before a model was loaded and after it was loaded and warmed up
// (so Added is what that model and its first pass's buffers occupy, other
// models of the process aside), and VmHWM, the process's peak so far.
type Memory struct {
	BeforeMiB float64 `json:"rss_before_mib"`
	AfterMiB  float64 `json:"rss_after_mib"`
	AddedMiB  float64 `json:"rss_added_mib"`
	PeakMiB   float64 `json:"process_peak_mib"`
}

// statusPath is where Linux publishes the process's memory figures.
const statusPath = "/proc/self/status"

// ReadRSS returns the process's current (VmRSS) and peak (VmHWM) resident
// memory in MiB (Linux only).
func ReadRSS() (rss, peak float64, err error) {
	b, err := os.ReadFile(statusPath)
	if err != nil {
		return 0, 0, fmt.Errorf("bench: memory: %w", err)
	}
	return parseRSS(string(b))
}

func parseRSS(s string) (rss, peak float64, err error) {
	found := 0
	for _, line := range strings.Split(s, "\n") {
		key, val, ok := strings.Cut(line, ":")
		if !ok || (key != "VmRSS" && key != "VmHWM") {
			continue
		}
		f := strings.Fields(val)
		if len(f) != 2 || f[1] != "kB" {
			return 0, 0, fmt.Errorf("bench: %s: %s: want \"N kB\", got %q", statusPath, key, strings.TrimSpace(val))
		}
		kb, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			return 0, 0, fmt.Errorf("bench: %s: %s: %w", statusPath, key, err)
		}
		if key == "VmRSS" {
			rss = kb / 1024
		} else {
			peak = kb / 1024
		}
		found++
	}
	if found != 2 {
		return 0, 0, fmt.Errorf("bench: %s: no VmRSS and VmHWM lines", statusPath)
	}
	return rss, peak, nil
}

// loadAround pairs a load reading taken before a measurement with one taken
// now; nil when the load average cannot be read (non-Linux).
func loadAround(before [3]float64, beforeErr error) *Load {
	if beforeErr != nil {
		return nil
	}
	after, err := ReadLoadAvg()
	if err != nil {
		return nil
	}
	return &Load{Before: before, After: after}
}

// ratioJSON is Ratio's JSON form: NaN (a baseline without throughput) is
// written as null, which encoding/json cannot do for a float64.
type ratioJSON struct {
	Metric string   `json:"metric"`
	Median *float64 `json:"median"`
	Low    *float64 `json:"low"`
	High   *float64 `json:"high"`
}

func finite(x float64) *float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return &x
}

func orNaN(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

// MarshalJSON writes undefined ratios (NaN or infinite) as null.
func (r Ratio) MarshalJSON() ([]byte, error) {
	return json.Marshal(ratioJSON{Metric: r.Metric, Median: finite(r.Median), Low: finite(r.Low), High: finite(r.High)})
}

// UnmarshalJSON reads null ratios back as NaN.
func (r *Ratio) UnmarshalJSON(b []byte) error {
	var j ratioJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("bench: ratio: %w", err)
	}
	*r = Ratio{Metric: j.Metric, Median: orNaN(j.Median), Low: orNaN(j.Low), High: orNaN(j.High)}
	return nil
}

// Merge joins results of the same configuration measured in turns (e.g.
// one pass at a time, interleaved with a peer's passes so that both see the
// same machine load) into one result over all their passes. The load
// average spans from the first part's reading to the last part's.
func Merge(parts ...*Result) (*Result, error) {
	if len(parts) == 0 {
		return nil, fmt.Errorf("bench: merge: no results")
	}
	first := parts[0]
	out := *first
	out.Passes = nil
	out.Load = nil
	if first.Load != nil {
		l := *first.Load
		out.Load = &l
	}
	for i, p := range parts {
		if p.Name != first.Name || p.Batch != first.Batch || p.Requests != first.Requests {
			return nil, fmt.Errorf("bench: merge: part %d is %s batch %d with %d requests, not %s batch %d with %d requests",
				i, p.Name, p.Batch, p.Requests, first.Name, first.Batch, first.Requests)
		}
		out.Passes = append(out.Passes, p.Passes...)
		if out.Load != nil {
			if p.Load == nil {
				out.Load = nil
			} else {
				out.Load.After = p.Load.After
			}
		}
	}
	out.summarize()
	return &out, nil
}
