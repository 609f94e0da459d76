# The only way anyone builds, tests, lints or benchmarks losscli.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

.PHONY: demo test lint bench golden readme refenv reference mutation screenshots clean

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

# Each bench script writes its tables to bench/results/NAME.md; the README's Performance
# section is regenerated from them at the end.
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	@# Every script runs and README is updated even when one misses its bar (exit 1); make
	@# bench then fails at the end, naming the scripts that did.
	@failed=""; \
	for script in compute slices memory kernels compare; do \
		$(BIN)/python bench/bench_$$script.py || failed="$$failed bench_$$script"; \
	done; \
	$(BIN)/python bench/bench_shards.py --own-cluster || failed="$$failed bench_shards"; \
	$(BIN)/python scripts/update_readme.py; \
	if [ -n "$$failed" ]; then echo "make bench: bar missed or run failed in:$$failed"; exit 1; fi

golden: $(STAMP)
	LOSSCLI_REGENERATE_GOLDEN=1 $(BIN)/python -m pytest tests/test_golden.py

# The reference environment: the real libraries the reference numbers come from, in .refenv/
# inside the repository (git-ignored), never a losscli dependency. Not part of CI.
REFENV := .refenv
REF_PACKAGES := torch==2.13.0 scikit-learn==1.9.1 scipy==1.17.1 keras==3.15.1 \
	torchmetrics mpmath pandas pyarrow
refenv: $(REFENV)/.installed

$(REFENV)/.installed:
	$(PYTHON) -m venv $(REFENV)
	$(REFENV)/bin/python -m pip install --quiet $(REF_PACKAGES)
	touch $@

# Regenerate the reference numbers with PyTorch, scikit-learn, SciPy and Keras (see
# tests/reference/README.md), then check the installed losscli on new files against them.
reference: $(VENV)/.installed $(REFENV)/.installed
	KERAS_BACKEND=torch $(REFENV)/bin/python tests/reference/generate_reference.py
	KERAS_BACKEND=torch $(REFENV)/bin/python tests/reference/generate_oracles.py
	KERAS_BACKEND=torch $(REFENV)/bin/python tests/reference/generate_weighted.py
	$(REFENV)/bin/python tests/reference/generate_kernels.py
	$(REFENV)/bin/python tests/reference/generate_compare.py
	$(REFENV)/bin/python tests/reference/generate_stats.py
	KERAS_BACKEND=torch $(REFENV)/bin/python tests/reference/generate_loss_edges.py
	LOSSCLI=$(BIN)/losscli $(REFENV)/bin/python tests/reference/verify_files.py

# Mutation testing with mutmut 3 (settings and the reasons for them in pyproject.toml
# [tool.mutmut]): every small change to losscli/losses, losscli/engine and losscli/stats.py is
# run against the tests that reach the changed function, with Hypothesis's "mutation" profile
# (tests/conftest.py). Resumable: a second run retests only what changed. Then the score and
# the survivors by function, with the run's wall and CPU time (scripts/mutation_report.py).
# See README "Contributing".
mutation: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" LOSSCLI_HYPOTHESIS=mutation \
		$(BIN)/python scripts/mutation_report.py run \
		$(BIN)/mutmut run --max-children 2

# The README's report screenshots: the sample reports as HTML, photographed by headless
# Chromium (Debian's chromium package) into docs/screenshots/. Not part of make test.
screenshots: $(STAMP)
	$(BIN)/python scripts/screenshots.py

clean:
	rm -rf $(VENV) mutants build *.egg-info .pytest_cache .mypy_cache .ruff_cache bench/.cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

readme: $(STAMP)
	$(BIN)/python scripts/update_readme.py
