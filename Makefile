# modelgate: `make run` starts the standalone gateway with the example models,
# `make test` installs what the tests need and runs them all.

SHELL := bash
GO ?= go
ORT_VERSION := 1.29.0
ORT_PACKAGE := onnxruntime-node@$(ORT_VERSION)
ORT_INTEGRITY := sha512-WjiVVB72riILz8HbYvxvmjKyE/WmkYoSfKY++axo5jAR609HQg8MwiG/HhShpTcJfmmAdzxxmB+MMST3A+SiPA==
ORT_ARCH := $(if $(filter aarch64 arm64,$(shell uname -m)),arm64,x64)
ORT_DIR := $(CURDIR)/.cache/ort/$(ORT_VERSION)/$(ORT_ARCH)
ORT_LIB ?= $(ORT_DIR)/libonnxruntime.so.1
export ORT_LIB

BIN := $(CURDIR)/bin
# The commit `modelgate version` and `modelgate-sidecar --version` report ("-dirty" with
# uncommitted changes); `make image` hands it to the Docker build, which has no .git.
GIT_COMMIT ?= $(shell c=$$(git rev-parse --short=12 HEAD 2>/dev/null) && { git diff --quiet HEAD 2>/dev/null || c=$$c-dirty; echo $$c; })
LDFLAGS := -X github.com/modelgate/modelgate/internal/version.Commit=$(GIT_COMMIT)
GOFILES := $(shell find . -name '*.go' -not -path './.cache/*')

.PHONY: all testmodels ort proto build test test-deps run-deps bench-deps vet fmt fuzz bench-once bench-sidecar bench bench-readme soak run train quantize fp16 measure-model image image-gpu clean

all: build

## ort: fetch the ONNX Runtime library (integrity-checked) unless ORT_LIB points at one.
ort: $(ORT_LIB)

$(ORT_DIR)/libonnxruntime.so.1:
	deploy/ort/fetch.sh $(ORT_PACKAGE) $(ORT_INTEGRITY) $(ORT_DIR) bin/napi-v6/linux/$(ORT_ARCH)/libonnxruntime.so.1

## proto: regenerate shared/pb from shared/proto (needs Debian's protobuf-compiler).
proto:
	command -v protoc >/dev/null || (apt-get update && apt-get install -y protobuf-compiler)
	mkdir -p .cache/tools
	$(GO) build -o .cache/tools/ google.golang.org/protobuf/cmd/protoc-gen-go google.golang.org/grpc/cmd/protoc-gen-go-grpc
	PATH="$(CURDIR)/.cache/tools:$$PATH" protoc -I shared/proto \
	  --go_out=shared/pb --go_opt=paths=source_relative \
	  --go-grpc_out=shared/pb --go-grpc_opt=paths=source_relative shared/proto/modelgate.proto

## testmodels: regenerate the committed test model repository sidecar/testdata/models
## (installs Debian's python3-numpy and python3-onnx); `make testmodels BENCH=1` also writes the benchmark model.
testmodels:
	@scripts/debdeps.sh install $(MODELGEN_DEBS)
	/usr/bin/python3 sidecar/testdata/gen_models.py
	$(if $(BENCH),/usr/bin/python3 sidecar/testdata/gen_models.py --bench .cache/benchmodels)

## build: bin/modelgate and bin/modelgate-sidecar.
build: $(BIN)/modelgate $(BIN)/modelgate-sidecar

$(BIN)/modelgate: $(GOFILES) go.mod go.sum
	$(GO) build -ldflags '$(LDFLAGS)' -o $@ ./kong-plugin/cmd/modelgate

$(BIN)/modelgate-sidecar: $(GOFILES) go.mod go.sum
	$(GO) build -ldflags '$(LDFLAGS)' -o $@ ./sidecar/cmd/modelgate-sidecar

## run: install gcc, libc6-dev and npm if missing, fetch ONNX Runtime, build, and start the standalone gateway (modelgate serve) on :8000
## with kong.yml and the example models in deploy/models; Ctrl+C stops it and its sidecar. kong.yml holds the
## public DEMO credentials, which the plugin refuses unless MODELGATE_DEMO=1 says this is a laptop demo.
run: run-deps build
	@echo "make run: DEMO mode (MODELGATE_DEMO=1): the public DEMO API key and JWT key of kong.yml are accepted; never expose this port"
	MODELGATE_DEMO=1 PATH="$(BIN):$$PATH" $(BIN)/modelgate serve --config kong.yml --listen :8000

## train: retrain the example sentiment model into deploy/models/sentiment (CPU, a few minutes;
## CI never does). Debian's torch calls the system BLAS: OpenBLAS makes it ~20x faster than
## the reference BLAS.
train:
	@/usr/bin/python3 -c 'import torch, onnx' 2>/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch python3-onnx)
	@dpkg -s libopenblas0-pthread >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libopenblas0-pthread)
	/usr/bin/python3 deploy/train/train.py

## quantize: write version 3 of the example model, version 2 dynamically quantized to int8, with its
## checksum, metrics.json entry and model-card section (installs Debian's python3-numpy and
## python3-onnx; seconds; CI never does, the end-to-end tests check the committed result).
## Run it again after `make train`, which rewrites version 2, metrics.json and the card.
quantize:
	@scripts/debdeps.sh install $(MODELGEN_DEBS)
	/usr/bin/python3 deploy/train/quantize.py

## fp16: write deploy/models-gpu/sentiment-fp16, version 2 of the example model in float16 for
## GPUs (the GPU image only), with its checksum, vocabulary, labels and the measured section of its
## card (Debian's python3-numpy and python3-onnx; under a minute; CI never does, the tests check
## the committed result). Run it again after `make train`.
fp16:
	@scripts/debdeps.sh install $(MODELGEN_DEBS)
	/usr/bin/python3 deploy/train/fp16.py

## measure-model: versions 2 and 3 of the example model on this machine's CPU, under ONNX Runtime
## in process and through modelgate serve, measured alternately (size, memory, held-out accuracy,
## agreement, items/s and p50 at batch 1 and 32): the tables in deploy/models/sentiment/MODEL_CARD.md.
measure-model: run-deps build
	$(GO) run ./sidecar/cmd/modelgate-measure -lib $(ORT_LIB) -versions 2,3 -rounds 9 -bin $(BIN)

## Debian packages that `make test` installs (apt-get; needs root or sudo), each as PACKAGE=PROBE
## (scripts/debdeps.sh): every program or python module a test, fuzz target or the bench's
## miniature run calls besides Go. gcc and libc6-dev (which gcc only recommends) build cgo
## (ONNX Runtime, -race); npm fetches ONNX Runtime.
RUN_DEBS := gcc=gcc libc6-dev=/usr/include/stdio.h npm=npm
MODELGEN_DEBS := python3=/usr/bin/python3 python3-numpy=py:numpy python3-onnx=py:onnx
TEST_DEBS := $(RUN_DEBS) coreutils=true redis-server=redis-server curl=curl openssl=openssl docker-registry=/usr/bin/docker-registry $(MODELGEN_DEBS)
## What `make bench` needs: the same (its model generator is the test models' one), plus the
## peers it runs side by side (bench/peers): nodejs for the Node + onnxruntime-node service;
## python3-torch, python3-flask and gunicorn for the original article's Flask + TorchScript service.
BENCH_DEBS := $(TEST_DEBS) nodejs=node python3-torch=py:torch python3-flask=py:flask gunicorn=gunicorn
## The Node peer's onnxruntime-node, installed into bench/peers/node/node_modules (git-ignored)
## with --ignore-scripts: its install script downloads from outside the registries, and the
## package already ships the .node binding and libonnxruntime.
NODE_PEER := bench/peers/node

## test-deps: install the Debian packages above that are missing, fetch ONNX Runtime, then check
## that every one of them is there (a missing one fails here, named, before any test runs).
test-deps:
	@scripts/debdeps.sh install $(TEST_DEBS)
	@$(MAKE) --no-print-directory ort

## run-deps: the same for `make run` (gcc, libc6-dev and npm, only where missing).
run-deps:
	@scripts/debdeps.sh install $(RUN_DEBS)
	@$(MAKE) --no-print-directory ort

## bench-deps: the same for the benchmarks, and the Node peer's onnxruntime-node.
bench-deps:
	@scripts/debdeps.sh install $(BENCH_DEBS)
	@$(MAKE) --no-print-directory ort
	@test -e $(NODE_PEER)/node_modules/onnxruntime-node/package.json || \
	  (cd $(NODE_PEER) && npm install --ignore-scripts --no-package-lock --no-audit --no-fund --silent)

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	@$(GO) mod tidy -diff >/dev/null || { echo "go.mod/go.sum are not tidy: run go mod tidy"; exit 1; }
	$(GO) vet ./...

## test: vet, then every test under -race, against real ONNX Runtime, Redis and sidecar processes.
test: test-deps vet build
	MODELGATE_BIN_DIR=$(BIN) $(GO) test -race -count=1 -timeout 40m ./...
	$(MAKE) --no-print-directory bench-once
	$(MAKE) --no-print-directory fuzz

## bench-once: every Go benchmark runs once (-benchtime 1x), so that one the code has broken fails
## `make test` instead of the next person measuring; part of `make test` (about a minute).
bench-once: build
	MODELGATE_BIN_DIR=$(BIN) $(GO) test -count=1 -run='^$$' -bench=. -benchtime=1x -timeout 20m ./...

## fuzz: each fuzz target for FUZZTIME on top of its committed corpus (testdata/fuzz); part of `make test`.
## A count of executions, not a duration: Go 1.26's fuzz coordinator can report a target that was
## still running when a duration ran out as "context deadline exceeded", a failure with no failing
## input (golang/go#75804, fixed in Go 1.27); a count has no deadline to race. 20000 runs take
## 0.3-5 s per target on a 2-core machine.
FUZZTIME ?= 20000x
FUZZ_TARGETS := ./shared/tensor:FuzzCheckRaw ./shared/tensor:FuzzDecodeBytes ./shared/tensor:FuzzBytesRoundTrip \
  ./kong-plugin/internal/protocol/oip:FuzzDecodeInfer ./kong-plugin/internal/protocol/oip:FuzzCheckInfer ./kong-plugin/internal/protocol/oip:FuzzCheckBinaryInfer \
  ./kong-plugin/internal/protocol/jsontensor:FuzzParseData \
  ./kong-plugin/internal/protocol/oip:FuzzParseRoute ./kong-plugin/internal/protocol/tfserving:FuzzParseRoute \
  ./kong-plugin/internal/protocol/tfserving:FuzzDecodePredict \
  ./kong-plugin/internal/auth:FuzzCredential ./kong-plugin/internal/auth:FuzzJWKS ./kong-plugin/internal/auth:FuzzSubjectConsumer
FUZZ_TARGETS += ./sidecar/internal/modelfile:FuzzParseKey ./sidecar/internal/modelfile:FuzzDecrypt ./kong-plugin/internal/auth:FuzzDigestFile
FUZZ_TARGETS += ./kong-plugin/internal/privacy/detect:FuzzFind ./internal/pathbound:FuzzResolve
FUZZ_TARGETS += ./kong-plugin/internal/protocol/oip:FuzzParseHeader ./kong-plugin/internal/protocol/tfserving:FuzzParsePredict ./kong-plugin/internal/pluginserver:FuzzDecodeHeaders
fuzz:
	@for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; fn=$${t##*:}; echo "fuzz $$fn in $$pkg for $(FUZZTIME)"; \
	  $(GO) test -run='^$$' -fuzz="^$$fn\$$" -fuzztime=$(FUZZTIME) $$pkg || exit 1; done

## bench-sidecar: raw ONNX Runtime in-process (batch 1..128) against the sidecar over its socket
## (1 client; 64 clients, batching off and on): table and ratios on stdout, out/bench-sidecar.json.
bench-sidecar: bench-deps build
	$(GO) run ./bench/cmd/modelgate-bench -suite sidecar -bin $(BIN) -out out

## bench: two workloads at 1, 16 and 64 clients. Sentences: the shipped sentiment model fed the
## held-out sentences through modelgate serve (auth, quotas) and the Kong wire protocol, beside raw
## ORT and the peers of bench/peers (lean Go ceiling, Node + onnxruntime-node, Flask + TorchScript).
## Synthetic: bench-sidecar plus both full paths. Goals with ratios, CPU µs per request of every
## process: stdout, out/bench.json, out/bench.md, out/bench.svg. PROFILE=1 adds CPU profiles.
bench: bench-deps build
	$(GO) run ./bench/cmd/modelgate-bench -suite all -bin $(BIN) -out out $(if $(PROFILE),-profile)

## bench-readme: put the last `make bench` run's tables (out/bench.md) into README.md's benchmark
## section, between its bench markers, and its chart into docs/bench.svg.
bench-readme:
	$(GO) run ./bench/cmd/modelgate-bench -out out -readme README.md

## soak: the long resilience cases (memory after 100,000 requests), which `make test` and CI leave out.
soak: test-deps build
	MODELGATE_BIN_DIR=$(BIN) $(GO) test -tags soak -count=1 -timeout 60m -run 'Soak' -v ./resilience/

## image: the Kong image (IMAGE:IMAGE_TAG) and the sidecar image (IMAGE-sidecar:IMAGE_TAG); needs Docker with BuildKit.
## image-gpu: the same with the CUDA execution provider, tagged IMAGE_TAG-gpu (x86-64, CUDA 13).
IMAGE ?= modelgate
IMAGE_TAG ?= dev
DOCKER ?= docker
IMAGE_ARGS = --build-arg ORT_PACKAGE=$(ORT_PACKAGE) --build-arg ORT_INTEGRITY=$(ORT_INTEGRITY) --build-arg GIT_COMMIT=$(GIT_COMMIT)

image:
	DOCKER_BUILDKIT=1 $(DOCKER) build $(IMAGE_ARGS) --target kong -t $(IMAGE):$(IMAGE_TAG) .
	DOCKER_BUILDKIT=1 $(DOCKER) build $(IMAGE_ARGS) --target sidecar -t $(IMAGE)-sidecar:$(IMAGE_TAG) .

image-gpu:
	DOCKER_BUILDKIT=1 $(DOCKER) build $(IMAGE_ARGS) --build-arg VARIANT=gpu --target kong -t $(IMAGE):$(IMAGE_TAG)-gpu .
	DOCKER_BUILDKIT=1 $(DOCKER) build $(IMAGE_ARGS) --build-arg VARIANT=gpu --target sidecar -t $(IMAGE)-sidecar:$(IMAGE_TAG)-gpu .

clean:
	rm -rf bin .cache out
