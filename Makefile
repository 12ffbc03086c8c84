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

## fuzz: each fuzz target for $(FUZZTIME)
fuzz: setup
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list 'Fuzz.*' $$pkg 2>/dev/null | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; done

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
