# medbench — build, test and demo. Everything the tests need is fetched here.
SHELL := /bin/bash
GO ?= go
BIN := bin/medbench
ORT_LIB := .cache/ort/1.29.0/libonnxruntime.so.1
GIT_COMMIT := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -X main.version=0.1.0 -X main.gitCommit=$(GIT_COMMIT)
# Packages that start goroutines or promise concurrent use: also tested with -race.
RACE_PKGS := ./datasets/... ./records/... ./evaluate/... ./bench/... ./runners/tokenizer/...
FUZZTIME ?= 30s
FUZZMINIMIZETIME ?= 5s

.PHONY: all setup setup-cuda testtools build test vet fuzz bench demo golden-fixture grpo-task clean

all: build

## setup: fetch ONNX Runtime 1.29.0 (CPU) into .cache/ (idempotent, sha256-checked)
setup: $(ORT_LIB)
$(ORT_LIB): scripts/fetch-ort.sh
	./scripts/fetch-ort.sh

## setup-cuda: add the ORT 1.29.0 CUDA 13 providers next to the core library
setup-cuda: setup
	./scripts/fetch-ort-cuda.sh

## testtools: reference JS implementations for conformance tests (npm, no install scripts)
testtools: testtools/node_modules/.installed
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

## fuzz: each fuzz target for $(FUZZTIME), then executions per target.
## Minimizing a new input is capped at $(FUZZMINIMIZETIME) (go test's default,
## 60s per input, used up the whole budget: a few dozen executions a target).
fuzz: setup
	@set -eo pipefail; log=$$(mktemp); sum=$$(mktemp); trap 'rm -f $$log $$sum' EXIT; \
	for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list 'Fuzz.*' $$pkg 2>/dev/null | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZETIME) $$pkg 2>&1 | tee $$log; \
	    execs=$$(grep -o 'execs: [0-9]*' $$log | tail -1 | cut -d' ' -f2); \
	    printf '%-48s %-22s %12s executions\n' "$${pkg#github.com/medbench/medbench/}" "$$f" "$${execs:-?}" >> $$sum; \
	  done; done; \
	echo "== executions per target in $(FUZZTIME)"; cat $$sum

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
