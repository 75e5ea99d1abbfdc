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

RAW_FILES := $(filter-out %.rejects.jsonl,$(wildcard $(DATA)/raw/*/*.jsonl))
COMPLAINTS := $(DATA)/processed/complaints.parquet
PREDICTIONS := $(DATA)/processed/predictions.parquet
WEEKLY := $(DATA)/processed/aggregates/weekly_counts.parquet
REPORT := $(DATA)/reports/report-$(PERIOD).html

.PHONY: help install demo test test-slow lint format sim crawl ingest label aggregate report clean

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

## Run the whole pipeline on the local simulator and print the report's path.
demo: $(INSTALLED)
	$(TOUSU) --data-dir $(DATA) demo --seed $(SEED)

## Run the test suite (slow real-size runs excluded).
test: $(INSTALLED)
	$(BIN)/pytest

## Run only the slow, real-size tests.
test-slow: $(INSTALLED)
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

$(COMPLAINTS): $(RAW_FILES) | $(INSTALLED)
	$(TOUSU) --data-dir $(DATA) ingest

$(PREDICTIONS): $(COMPLAINTS)
	$(TOUSU) --data-dir $(DATA) label

$(WEEKLY): $(PREDICTIONS)
	$(TOUSU) --data-dir $(DATA) aggregate

$(REPORT): $(WEEKLY)
	$(TOUSU) --data-dir $(DATA) report --period $(PERIOD)

## Validate, clean and deduplicate raw crawls into the complaints table.
ingest: $(COMPLAINTS)

## Label every complaint.
label: $(PREDICTIONS)

## Weekly counts per platform x merchant x label.
aggregate: $(WEEKLY)

## Write the HTML report for PERIOD (all, 2026, 2026-Q3, 2026-10, 2026-W40).
report: $(REPORT)

## Remove caches and the demo workspace (crawled data under DATA is kept).
clean:
	rm -rf $(DATA)/demo .pytest_cache .mypy_cache .ruff_cache
