package datasets

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/jedib0t/go-pretty/v6/progress"

	"github.com/medbench/medbench/internal/termbar"

	"github.com/medbench/medbench/model/imageproc"
)

// ImageCheck sets how validate checks images. The zero value reads each
// image's header only. With Decode, every image is decoded with the decoder
// and decompression-bomb limit eval uses (imageproc.DecodeLimit), so that a
// truncated PNG or JPEG, or a header claiming more than twice
// MaxImagePixels, fails validate naming the file and the record instead of
// failing its samples during eval.
type ImageCheck struct {
	Decode bool
	// MaxImagePixels is the decompression-bomb limit (0: Pillow's
	// 89,478,485; negative: none), as eval's --max-image-pixels.
	MaxImagePixels int64
	// Workers bounds the parallel decodes (0: GOMAXPROCS).
	Workers int
	// Progress receives a progress bar on a terminal, else a line every
	// few seconds and at the end; nil for silence.
	Progress io.Writer
}

// imageJob is one image to check: from a file, or embedded bytes.
type imageJob struct {
	record int
	name   string // as the record spells it
	path   string
	bytes  []byte
}

// checkImages checks every job and returns one problem per bad image, in
// job order. Header checks run in the caller; decodes run on at most
// ic.Workers goroutines.
func checkImages(ctx context.Context, jobs []imageJob, ic ImageCheck) ([]Problem, error) {
	msgs := make([]string, len(jobs))
	if !ic.Decode {
		for i, j := range jobs {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if j.bytes != nil {
				msgs[i] = checkImageBytes(j.bytes, "embedded bytes")
			} else {
				msgs[i] = checkImageFile(j.path)
			}
			if msgs[i] == "" {
				msgs[i] = pixelCheck(j, ic.MaxImagePixels)
			}
		}
	} else {
		workers := ic.Workers
		if workers <= 0 {
			workers = runtime.GOMAXPROCS(0)
		}
		workers = min(workers, max(len(jobs), 1))
		prog := newCheckProgress(ic.Progress, len(jobs))
		forEachParallel(ctx, len(jobs), workers, func(i int) {
			msgs[i] = decodeCheck(jobs[i], ic.MaxImagePixels)
			prog.add()
		})
		prog.stop()
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	var probs []Problem
	for i, m := range msgs {
		if m != "" {
			probs = append(probs, Problem{Index: jobs[i].record, Field: "image", Msg: fmt.Sprintf("%q: %s", jobs[i].name, m)})
		}
	}
	return probs, nil
}

// forEachParallel calls do(i) for every i in [0, n) on workers goroutines,
// handing the indexes out in order until ctx is done, and returns when every
// call has returned.
func forEachParallel(ctx context.Context, n, workers int, do func(i int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				do(i)
			}
		}()
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
}

// decodeCheck decodes one image as eval would; "" when it decodes.
func decodeCheck(j imageJob, limit int64) string {
	data, where := j.bytes, "embedded bytes"
	if data == nil {
		where = j.path
		var err error
		if data, err = os.ReadFile(j.path); err != nil {
			if os.IsNotExist(err) {
				return fmt.Sprintf("missing (%s)", j.path)
			}
			return fmt.Sprintf("unreadable: %v", err)
		}
	}
	if _, _, _, err := imageproc.DecodeLimit(data, limit); err != nil {
		return fmt.Sprintf("does not decode (%s): %v", where, err)
	}
	return ""
}

// pixelCheck applies the decompression-bomb limit to an image's header
// (which checkImageFile has found readable); "" when within it.
func pixelCheck(j imageJob, limit int64) string {
	var (
		h   imageproc.Header
		err error
	)
	if j.bytes != nil {
		h, err = imageproc.ReadHeader(j.bytes)
	} else {
		f, ferr := os.Open(j.path)
		if ferr != nil {
			return fmt.Sprintf("unreadable: %v", ferr)
		}
		h, err = imageproc.ReadHeaderFrom(f)
		f.Close()
	}
	if err == nil {
		_, err = imageproc.CheckPixels(h, limit)
	}
	if err != nil {
		where := j.path
		if j.bytes != nil {
			where = "embedded bytes"
		}
		return fmt.Sprintf("does not decode (%s): %v", where, err)
	}
	return ""
}

// checkProgress reports decoded images; nil-safe.
type checkProgress struct {
	mu      sync.Mutex
	out     io.Writer
	total   int
	done    int
	start   time.Time
	lastLog time.Time
	logged  bool
	pw      progress.Writer
	tracker *progress.Tracker
}

func newCheckProgress(out io.Writer, total int) *checkProgress {
	if out == nil {
		return nil
	}
	p := &checkProgress{out: out, total: total, start: time.Now(), lastLog: time.Now()}
	if termbar.IsTerminal(out) {
		p.pw, p.tracker = termbar.Start(out, "decode images", int64(total), progress.UnitsDefault, "")
	}
	return p
}

func (p *checkProgress) add() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	if p.tracker != nil {
		p.tracker.Increment(1)
		return
	}
	if time.Since(p.lastLog) >= 2*time.Second {
		p.lastLog, p.logged = time.Now(), true
		fmt.Fprintf(p.out, "validate: decoded %d/%d images\n", p.done, p.total)
	}
}

func (p *checkProgress) stop() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pw != nil {
		p.tracker.MarkAsDone()
		time.Sleep(250 * time.Millisecond) // let the last frame render
		p.pw.Stop()
		return
	}
	if p.logged { // a short check stays quiet; a long one says it finished
		fmt.Fprintf(p.out, "validate: decoded %d/%d images in %s\n", p.done, p.total, time.Since(p.start).Round(time.Millisecond))
	}
}
