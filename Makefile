# Media — multimodal media similarity service.
#   make run    the main job (sets itself up)        make test   every test (sets itself up)
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

DEPS        := .deps
DOTNET      ?= dotnet
PYTHON      ?= /usr/bin/python3
SUDO        := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := libturbojpeg0 libspng0 libwebp7 ffmpeg libchromaprint1 python3-onnx python3-numpy python3-pil \
                sox espeak-ng rabbitmq-server python3-hnswlib ca-certificates curl chromium chromium-driver $(if $(shell command -v npm),,nodejs npm)
HAS_GPU     := $(shell command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1 && echo yes)
# ONNX Runtime comes from NuGet: the CPU package, or Microsoft.ML.OnnxRuntime.Gpu.Linux (CUDA/TensorRT execution
# providers) on a GPU host when the feed serves it. `make ORT_GPU=no` forces the CPU package.
ORT_GPU     ?= $(HAS_GPU)
ORT_PROPS    = $(shell [ "$(ORT_GPU)" = yes ] && [ ! -e $(DEPS)/ort-gpu-unavailable ] && echo -p:OrtGpu=true)
MEDIA       ?= samples
# `make run` on the samples starts from an empty catalog each time; with MEDIA=DIR it keeps ./data.
DATA        ?= $(if $(filter samples,$(MEDIA)),data/make-run,data)
# The image pack: the real nsfwjs MobileNetV2 (`make packs`, run by `make run`): embeddings, near-duplicates, classes.
NSFW_PACK   := models/nsfw-mobilenet-v2
PACK        ?= $(NSFW_PACK)
# Its policy: classification rules on its labels (only when PACK is that pack; POLICY= turns it off).
POLICY      ?= $(if $(filter $(NSFW_PACK),$(PACK)),docs/nsfw-policy.json)
# The nsfw pack has no text tower, so text->image search goes through a second image pack: the real CLIP pack when
# `make models` has fetched it, otherwise the colour fixture.
TEXT_PACK   ?= $(if $(wildcard models/clip-vit-b32/vision_model.onnx),models/clip-vit-b32,models/fixtures/color-clip)
QUERY       ?= a black and white photo
# Image->image search with PACK: an edited copy among the samples, or the first image of MEDIA=DIR.
IMAGE_QUERY ?= $(if $(filter samples,$(MEDIA)),samples/2-edited/chelsea-half-size.jpg,$(shell find $(MEDIA) -type f \( -iname '*.jpg' -o -iname '*.jpeg' -o -iname '*.png' -o -iname '*.webp' \) 2>/dev/null | sort | head -n 1))
AUDIO_PACK  ?= $(if $(wildcard models/clap-htsat-unfused/audio_model.onnx),models/clap-htsat-unfused,models/fixtures/tone-clap)
AUDIO_QUERY ?= a low hum

# PostgreSQL 15 and pgvector for the shared catalog (README, "Scale-out on PostgreSQL"): the server, and what building
# pgvector from Debian's source package needs when no apt source has postgresql-15-pgvector (bookworm has none).
PG_PACKAGES := postgresql-15 postgresql-server-dev-15 dpkg-dev gcc make

.PHONY: help setup apt postgres restore build test fixtures models bench bench-inputs node-peer run samples heldout clean

help:
	@echo "make run [MEDIA=DIR]   ingest a folder (default: sample photos) and run a search"
	@echo "make test              set up, build and run every test"
	@echo "make build             publish the CLI to bin/media"
	@echo "make postgres          PostgreSQL 15 and pgvector for the shared catalog (part of make setup)"
	@echo "make fixtures          regenerate the committed fixture model packs"
	@echo "make models            download the real model packs (needs internet)"
	@echo "make packs             turn the nsfwjs MobileNetV2 (npm) into the ONNX pack models/nsfw-mobilenet-v2"
	@echo "make heldout           the held-out photographs of the nsfw pack's near-duplicate test (from python3-skimage)"
	@echo "make bench             the pipeline benchmark beside the Node peer, the index benchmark at 10^6 items (BENCH_INDEX_N), then BenchmarkDotNet"

## ---- setup (idempotent) ------------------------------------------------------
setup: apt postgres restore

# $(call apt_install,PACKAGES,AFTER): installs those of PACKAGES not installed yet, then runs the shell command AFTER
# (only when something was installed: e.g. stopping a service that Debian started on install).
define apt_install
	@missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "apt: installing $$missing"; \
	  $(SUDO) apt-get update -qq; \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	  $(2); \
	fi
endef

apt:
	$(call apt_install,$(APT_PACKAGES),if command -v rabbitmqctl >/dev/null && [ -z "$${KEEP_SYSTEM_RABBITMQ:-}" ]; then ($(SUDO) service rabbitmq-server stop >/dev/null 2>&1 || true); fi)

# Idempotent: installs what is missing of PG_PACKAGES, then pgvector (tools/setup-pgvector.sh: skipped when
# vector.control exists; otherwise postgresql-15-pgvector from apt, or Debian's pgvector source package fetched through a
# private apt configuration under .deps/apt and built against postgresql-server-dev-15). The cluster Debian creates is
# stopped (tests start private clusters on loopback ports) unless KEEP_SYSTEM_POSTGRES is set.
postgres:
	$(call apt_install,$(PG_PACKAGES),if [ -z "$${KEEP_SYSTEM_POSTGRES:-}" ] && command -v pg_ctlcluster >/dev/null; then ($(SUDO) pg_ctlcluster 15 main stop >/dev/null 2>&1 || true); fi)
	@tools/setup-pgvector.sh $(DEPS)

# On a GPU host the GPU package is tried first; a feed without it leaves a marker and the CPU package is used,
# and `--device auto` then says at start that CUDA cannot engage and why.
restore:
	@if [ "$(ORT_GPU)" = yes ] && [ ! -e $(DEPS)/ort-gpu-unavailable ]; then \
	  $(DOTNET) restore Media.sln -v q -p:OrtGpu=true || { mkdir -p $(DEPS); touch $(DEPS)/ort-gpu-unavailable; \
	    echo "restore: Microsoft.ML.OnnxRuntime.Gpu.Linux is not on this NuGet feed; building with the CPU package"; \
	    $(DOTNET) restore Media.sln -v q; }; \
	else $(DOTNET) restore Media.sln -v q; fi

## ---- build and test -----------------------------------------------------------
build: setup
	$(DOTNET) publish src/Media.Cli/Media.Cli.csproj -c Release -o bin/lib --no-restore -v q -nologo $(ORT_PROPS)
	printf '#!/bin/sh\n# Transparent huge pages for malloc (glibc >= 2.35): opening an ONNX session copies the model into fresh memory,\n# and its page faults were most of the start-up (README, "Cost per image"). A GLIBC_TUNABLES of your own still wins.\nGLIBC_TUNABLES="glibc.malloc.hugetlb=1$${GLIBC_TUNABLES:+:$$GLIBC_TUNABLES}" exec "$$(dirname "$$(readlink -f "$$0")")/lib/media" "$$@"\n' > bin/media
	chmod +x bin/media

test: build packs heldout
	rm -rf TestResults
	$(DOTNET) test Media.sln -c Release --no-restore -nologo $(ORT_PROPS) --logger "trx" --results-directory TestResults
	@tools/test-summary.sh TestResults

## ---- fixtures, models, benchmarks ----------------------------------------------
fixtures: apt
	$(PYTHON) tools/make_fixture_packs.py models/fixtures
	$(PYTHON) tools/make_pillow_fixture.py tests/Media.Tests/Fixtures/pillow_resize.json
	$(PYTHON) tools/make_codec_fixtures.py tests/Media.Tests/Fixtures/codecs

models: apt
	$(PYTHON) tools/fetch_models.py models/clip-vit-b32 models/clip-vit-b32-quantized models/clap-htsat-unfused

# The pipeline benchmark (96 distinct photos, the synthetic CLIP ViT-B/32 pack, per-stage costs, the Node peer on the
# same photos and pack: about 5 minutes), the index benchmark at 10⁶ items (about 40 minutes here, hnswlib's build
# included), then BenchmarkDotNet.
BENCH_INDEX_N ?= 1000000
BENCH_INPUTS  := .bench/synthetic-clip-vit-b32/pack.json
bench: build bench-inputs node-peer
	bin/media bench pipeline --pack .bench/synthetic-clip-vit-b32 --photos .bench/ingest-photos \
	  --stages .bench/stages/jpeg-1mp.jpg .bench/stages/jpeg-12mp.jpg .bench/stages/png-1mp.png --peer tools/node-peer/peer.mjs --json
	bin/media bench index --n $(BENCH_INDEX_N) --dim 512 --json
	$(DOTNET) run -c Release --project tests/Media.Benchmarks $(ORT_PROPS) -- --filter '*' $(BENCH_ARGS)

# Benchmark inputs under the ignored .bench/ (tools/make_bench_inputs.py; idempotent).
bench-inputs: apt
	$(PYTHON) tools/make_bench_inputs.py --out .bench --shared ../shared

# The Node peer (onnxruntime-node + sharp from npm, versions pinned by its package-lock.json) in the ignored
# tools/node-peer/node_modules. onnxruntime-node's install script would download CUDA binaries; the CPU ones ship inside.
node-peer: tools/node-peer/node_modules/.installed
tools/node-peer/node_modules/.installed: tools/node-peer/package.json tools/node-peer/package-lock.json
	cd tools/node-peer && npm ci --no-audit --no-fund --onnxruntime-node-install=skip
	touch $@

## ---- converted model packs ------------------------------------------------------
# `make packs` converts the nsfwjs MobileNetV2 (TensorFlow.js Keras layers model from npm, MIT) to ONNX with
# tools/convert_nsfwjs.py. Idempotent: nothing happens while models/nsfw-mobilenet-v2/model.onnx has the SHA-256
# that its pack.json pins; otherwise it fetches the tarball (`npm pack`, the only network use), unpacks it under
# .deps/nsfwjs/ and converts. The converter is deterministic, so a SHA-256 that differs from the pin is an error.
NSFWJS_VERSION := 4.4.0
NSFWJS_SHA256  := 585cd178f3b994337c4d10a87b080d342fc52f8b9bf0085c4d1f345a3a1c5382
NSFWJS_TGZ     := $(DEPS)/nsfwjs/nsfwjs-$(NSFWJS_VERSION).tgz

.PHONY: packs FORCE
packs: $(NSFW_PACK)/model.onnx

$(NSFW_PACK)/model.onnx: FORCE
	@want=$$(sed -n 's/.*"sha256": *"\([0-9a-f]\{64\}\)".*/\1/p' $(NSFW_PACK)/pack.json | head -n 1); \
	if [ -f $@ ] && [ "$$(sha256sum < $@ | cut -c1-64)" = "$$want" ]; then exit 0; fi; \
	$(MAKE) --no-print-directory apt $(NSFWJS_TGZ); \
	rm -rf $(DEPS)/nsfwjs/package; tar -xzf $(NSFWJS_TGZ) -C $(DEPS)/nsfwjs; \
	$(PYTHON) tools/convert_nsfwjs.py --expect-version $(NSFWJS_VERSION) $(DEPS)/nsfwjs/package mobilenet_v2 $@.tmp; \
	got=$$(sha256sum < $@.tmp | cut -c1-64); \
	if [ "$$got" != "$$want" ]; then rm -f $@.tmp; \
	  echo "packs: the converted $@ has SHA-256 $$got but $(NSFW_PACK)/pack.json pins $$want" >&2; exit 1; fi; \
	mv $@.tmp $@

$(NSFWJS_TGZ):
	mkdir -p $(@D)
	npm pack --silent --pack-destination $(@D) nsfwjs@$(NSFWJS_VERSION) >/dev/null
	echo "$(NSFWJS_SHA256)  $@" | sha256sum -c --quiet || { rm -f $@; exit 1; }

FORCE:

## ---- the main job --------------------------------------------------------------
samples:
	tools/make_samples.sh samples

heldout:
	@tools/heldout_photos.sh .deps/heldout-photos

run: build packs $(if $(filter samples,$(MEDIA)),samples)
	@$(if $(filter samples,$(MEDIA)),rm -rf $(DATA))
	@echo "== ingest $(MEDIA) with $(PACK)$(if $(POLICY), and $(POLICY)) into $(DATA)"
	bin/media ingest --data $(DATA) $(addprefix --pack ,$(sort $(PACK) $(TEXT_PACK) $(AUDIO_PACK))) $(if $(POLICY),--policy $(POLICY)) $(MEDIA)
	@$(if $(IMAGE_QUERY),echo "== search images like $(IMAGE_QUERY) ($(notdir $(PACK)))",true)
	$(if $(IMAGE_QUERY),bin/media search --data $(DATA) --pack $(PACK) --k 5 --image "$(IMAGE_QUERY)",@true)
	@echo "== search images: $(QUERY) ($(notdir $(TEXT_PACK)))"
	bin/media search --data $(DATA) --pack $(TEXT_PACK) --k 5 --text "$(QUERY)"
	@echo "== search audio: $(AUDIO_QUERY)"
	bin/media search --data $(DATA) --pack $(AUDIO_PACK) --k 3 --text "$(AUDIO_QUERY)"
	@echo "== catalog"
	bin/media stats --data $(DATA)

clean:
	rm -rf bin TestResults src/*/bin src/*/obj tests/*/bin tests/*/obj
