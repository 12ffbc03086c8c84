// Package ortlib locates and initializes the ONNX Runtime shared library.
//
// ONNX Runtime keeps one process-wide environment (onnxruntime_go wraps it as
// such); this package is the single place that creates it, so that every
// runner, fixture check and trainer in one process shares it.
package ortlib

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// Version is the ONNX Runtime release medbench pins (make setup fetches it).
const Version = "1.29.0"

// EnvVar names the environment variable that overrides the library path.
const EnvVar = "MEDBENCH_ORT_LIB"

// relPath is where `make setup` puts the library, relative to the repo root.
var relPath = filepath.Join(".cache", "ort", Version, "libonnxruntime.so.1")

// Find resolves the library path: explicit (from --ort-lib) first, then
// $MEDBENCH_ORT_LIB, then .cache/ort/<Version>/ in the current directory or
// any parent (the repository checkout), then next to the executable.
func Find(explicit string) (string, error) {
	if explicit != "" {
		return checkFile(explicit, "--ort-lib")
	}
	if p := os.Getenv(EnvVar); p != "" {
		return checkFile(p, "$"+EnvVar)
	}
	var tried []string
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			p := filepath.Join(d, relPath)
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
			tried = append(tried, p)
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	if exe, err := os.Executable(); err == nil {
		dir := filepath.Dir(exe)
		for _, p := range []string{filepath.Join(dir, "libonnxruntime.so.1"), filepath.Join(dir, "..", relPath)} {
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
		}
	}
	return "", fmt.Errorf("ortlib: ONNX Runtime %s library not found (run `make setup`, or pass --ort-lib / set %s); looked in %s and beside the executable",
		Version, EnvVar, filepath.Join("<cwd and parents>", relPath))
}

func checkFile(p, from string) (string, error) {
	st, err := os.Stat(p)
	if err != nil {
		return "", fmt.Errorf("ortlib: ONNX Runtime library from %s: %w", from, err)
	}
	if st.IsDir() {
		return "", fmt.Errorf("ortlib: ONNX Runtime library from %s: %s is a directory", from, p)
	}
	return p, nil
}

var (
	mu      sync.Mutex
	initLib string
)

// Init loads the library (resolved with Find) and creates the ONNX Runtime
// environment once per process. Later calls with the same or an empty path
// are no-ops; a different path is an error (ORT cannot be reloaded).
func Init(explicit string) (string, error) {
	mu.Lock()
	defer mu.Unlock()
	if initLib != "" {
		if explicit != "" {
			if p, _ := filepath.Abs(explicit); p != initLib {
				return "", fmt.Errorf("ortlib: ONNX Runtime already initialized from %s; cannot switch to %s", initLib, explicit)
			}
		}
		return initLib, nil
	}
	p, err := Find(explicit)
	if err != nil {
		return "", err
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", fmt.Errorf("ortlib: %w", err)
	}
	ort.SetSharedLibraryPath(abs)
	if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
		return "", fmt.Errorf("ortlib: initialize ONNX Runtime from %s: %w", abs, err)
	}
	initLib = abs
	return abs, nil
}

// Initialized reports the library path in use, or "" before Init.
func Initialized() string {
	mu.Lock()
	defer mu.Unlock()
	return initLib
}

// ErrNoCUDA is returned (wrapped) when the CUDA execution provider cannot be
// loaded from the library's folder.
var ErrNoCUDA = errors.New("CUDA execution provider unavailable")
