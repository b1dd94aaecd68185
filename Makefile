# The front door to every command. `make help` lists them.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
WORLD ?= var/world
MODEL ?= models/current
SEED ?= 42
SIZE ?= default
ENRON ?= ../shared/data/enron
FRNER ?= ../shared/data/fr-ner
# Debian keeps initdb/pg_ctl off PATH; the history-store tests start a throw-away PostgreSQL.
PG_BIN := $(lastword $(sort $(wildcard /usr/lib/postgresql/*/bin)))

.DEFAULT_GOAL := help
.PHONY: help install run world train-model serve test test-python test-addin lint sample bench retrain notebook plots

help: ## List the commands
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-12s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed ## Create .venv and install misdirect with its dev tools

run: world train-model serve ## The main job: generate the synthetic world, train, serve on 127.0.0.1:8000

world: install ## Generate the synthetic world into $(WORLD)
	$(BIN)/misdirect generate --out $(WORLD) --seed $(SEED) --size $(SIZE)

train-model: install ## Train on $(WORLD)/history.mbox into $(MODEL) (MLflow: var/mlflow.db)
	$(BIN)/misdirect train --history $(WORLD)/history.mbox --model $(MODEL)

serve: install ## Serve the API on 127.0.0.1:8000 with the model in $(MODEL)
	$(BIN)/misdirect serve --model $(MODEL)

test: install ## Run the whole test suite (Python, notebook, add-in unit and browser tests)
	PATH="$(PG_BIN):$$PATH" $(BIN)/python -m pytest
	$(MAKE) test-addin

test-addin: ## The add-in's node tests (installs npm packages and Chromium when missing)
	@if [ -f addin/package.json ]; then bash addin/scripts/test.sh; else echo "no add-in yet"; fi

lint: install ## ruff check
	$(BIN)/ruff check model service tests bench

sample: install ## Regenerate the committed sample in data/synthetic/
	$(BIN)/misdirect generate --out data/synthetic --seed 7 --size small

bench: install ## All benchmarks into bench/results/ (ENRON=…/enron FRNER=…/fr-ner; needs $(MODEL), ~20 min)
	$(BIN)/python bench/ingest.py $(ENRON)/lay-k.mbox $(ENRON)/skilling-j.mbox
	$(BIN)/python bench/ner.py --wikineural $(FRNER)/wikineural-fr-test.conllu --europeana $(FRNER)/europeana-fr-bnf.bio --synthetic 400
	$(BIN)/python bench/content.py
	$(BIN)/python bench/detect.py --synthetic var/bench-world --generate --enron $(ENRON)/lay-k.mbox $(ENRON)/skilling-j.mbox
	$(BIN)/python bench/latency.py --model $(MODEL) --workers 2
	$(BIN)/python bench/plots.py

retrain: install ## Retrain from $(WORLD)/history.mbox + feedback; champion gate; deploy to $(MODEL); reload (SERVICE_URL=…)
	$(BIN)/misdirect retrain --history $(WORLD)/history.mbox --deploy $(MODEL) $(if $(SERVICE_URL),--service-url $(SERVICE_URL),)

notebook: install ## Execute the evaluation notebook into var/evaluation.ipynb (MISDIRECT_NB_* to choose model, world, Enron)
	mkdir -p var && cp notebooks/evaluation.ipynb var/evaluation.ipynb
	$(BIN)/jupyter execute --inplace --timeout=-1 var/evaluation.ipynb

plots: install ## Draw bench/results/*.json as PNG in bench/results/
	$(BIN)/python bench/plots.py
