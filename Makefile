# The only way anyone builds, tests, lints or benchmarks losscli.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

.PHONY: demo test lint bench golden readme reference clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/losscli compute sample_data/seed_preds.csv sample_data/seed_labels.csv --loss mse --loss ce
	$(BIN)/losscli compute sample_data/seed_scores.csv sample_data/seed_labels.csv --loss hinge --top 0
	$(BIN)/losscli compute sample_data/images_logits.csv sample_data/images_labels.csv \
		--id-col image_id --loss ce --loss ce:label_smoothing=0.1 --loss hinge --top 5
	$(BIN)/losscli compute sample_data/house_prices_preds.parquet sample_data/house_prices_labels.parquet \
		--loss mse --loss rmse --loss mae --loss huber:delta=0.5 --top 3

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check losscli tests bench sample_data scripts
	$(BIN)/ruff format --check losscli tests bench sample_data scripts
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/bench_compute.py

golden: $(STAMP)
	LOSSCLI_REGENERATE_GOLDEN=1 $(BIN)/python -m pytest tests/test_golden.py

# Needs PyTorch and scikit-learn in REFENV (see tests/reference/README.md); not part of CI.
REFENV ?= /work/refenv
reference: $(VENV)/.installed
	$(REFENV)/bin/python tests/reference/generate_reference.py
	LOSSCLI=$(BIN)/losscli $(REFENV)/bin/python tests/reference/verify_files.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache bench/.cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

readme: $(STAMP)
	$(BIN)/python scripts/update_readme.py
