# medbench — build, test and demo. Everything the tests need is fetched here.
SHELL := /bin/bash
GO ?= go
BIN := bin/medbench
ORT_LIB := .cache/ort/1.29.0/libonnxruntime.so.1
GIT_COMMIT := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -X main.version=0.1.0 -X main.gitCommit=$(GIT_COMMIT)
# Packages that start goroutines or promise concurrent use: also tested with -race.
RACE_PKGS := ./datasets/... ./records/... ./evaluate/... ./bench/... ./model/tokenizer/... ./runners/openai/... ./serve/... ./internal/...
FUZZTIME ?= 30s
FUZZMINIMIZETIME ?= 100x

.PHONY: all setup setup-cuda testtools poppler build test vet fuzz bench demo golden-fixture grpo-task clean

all: build

## setup: fetch ONNX Runtime 1.29.0 (CPU) into .cache/ (idempotent, sha256-checked)
setup: $(ORT_LIB)
$(ORT_LIB): scripts/fetch-ort.sh
	./scripts/fetch-ort.sh

## setup-cuda: add the ORT 1.29.0 CUDA 13 providers next to the core library
setup-cuda: setup
	./scripts/fetch-ort-cuda.sh

## testtools: reference JS implementations for conformance tests (npm, no install scripts), and
## poppler (Debian's poppler-utils) for the report look test where apt-get can install it
testtools: testtools/node_modules/.installed poppler
poppler:
	@command -v pdftoppm >/dev/null 2>&1 || { if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils) >/dev/null || echo "poppler-utils: install failed; the report look test will be skipped"; \
	  else echo "poppler-utils not installed (not root): the report look test will be skipped"; fi; }
testtools/node_modules/.installed: testtools/package.json testtools/package-lock.json
	cd testtools && ONNXRUNTIME_NODE_INSTALL=skip npm ci --ignore-scripts --no-audit --no-fund --cache ../.cache/npm
	touch $@

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/medbench

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }

## test: setup + vet + all tests (race detector on the concurrent packages)
test: setup testtools vet
	$(GO) test -count=1 -timeout 30m ./...
	$(GO) test -count=1 -race -timeout 20m $(RACE_PKGS)

## fuzz: each fuzz target for $(FUZZTIME), then executions and result per target.
## Minimizing a new input is capped at $(FUZZMINIMIZETIME) executions (go test's
## default, 60s per input, used up the whole budget: a few dozen executions a
## target; a 5s cap still left FuzzReplayLoad at 20 executions in 20s).
## Go 1.26's fuzz coordinator can end a clean run with "context deadline
## exceeded" when -fuzztime expires mid-execution (golang/go#75804, fixed in
## Go 1.27): a target fails only when it wrote a reproducer to testdata/fuzz.
fuzz: setup
	@set -o pipefail; log=$$(mktemp); sum=$$(mktemp); trap 'rm -f $$log $$sum' EXIT; failed=0; \
	for pkg in $$($(GO) list ./...); do \
	  dir=$$($(GO) list -f '{{.Dir}}' $$pkg); \
	  for f in $$($(GO) test -list 'Fuzz.*' $$pkg 2>/dev/null | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f"; \
	    before=$$(ls $$dir/testdata/fuzz/$$f 2>/dev/null | wc -l); \
	    if $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZETIME) $$pkg 2>&1 | tee $$log; then res=ok; \
	    elif [ "$$(ls $$dir/testdata/fuzz/$$f 2>/dev/null | wc -l)" -gt "$$before" ]; then res=FAIL; failed=1; \
	    elif grep -q 'context deadline exceeded' $$log; then res="ok (deadline race, golang/go#75804; no reproducer)"; \
	    else res=FAIL; failed=1; fi; \
	    execs=$$(grep -o 'execs: [0-9]*' $$log | tail -1 | cut -d' ' -f2); \
	    printf '%-26s %-22s %10s executions  %s\n' "$${pkg#github.com/medbench/medbench/}" "$$f" "$${execs:-?}" "$$res" >> $$sum; \
	  done; done; \
	echo "== executions per target in $(FUZZTIME)"; cat $$sum; exit $$failed

## bench: Go benchmarks
bench: setup
	$(GO) test -run '^$$' -bench . -benchmem -count 5 ./... | tee bench.txt

## golden-fixture: regenerate golden/fixture-synthetic.json from a real eval of the tiny fixture
golden-fixture: setup
	MEDBENCH_BLESS=1 $(GO) test -count=1 -run TestFixtureGolden ./cmd/medbench

## grpo-task: the GRPO accuracy-rise task on the tiny fixture (minutes; not part of make test)
grpo-task: setup
	MEDBENCH_GRPO_TASK=1 $(GO) test -count=1 -v -timeout 20m -run TestAccuracyRise ./grpo

## demo: the whole job on the built-in fixture model and synthetic data
demo: setup build
	./$(BIN) demo --out demo-out

clean:
	rm -rf bin demo-out
