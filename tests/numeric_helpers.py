"""Helpers shared by the numeric tests (parity, invariants, engine).

They drive losscli's own layers on in-memory arrays exactly as ``losscli.compute`` does
(array sources -> ``plan_inputs`` -> ``BatchStream`` -> engine), but expose what ``compute``
hides: the per-sample terms, several chunks, several losses at once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import losscli
from losscli.engine import run as engine_run
from losscli.engine.evaluate import PerSampleSink
from losscli.engine.prepare import own_values
from losscli.engine.results import Report
from losscli.interpret.plan import Kind, Options
from losscli.io.readers import DEFAULT_CHUNK_ROWS, ArraySource, array_source
from losscli.losses import PerSample
from losscli.spec import LossSpec, parse_specs


def kind_of(logits: bool | None) -> Kind | None:
    """``compute``'s ``logits=`` argument as the planner's ``Kind``."""
    return None if logits is None else (Kind.LOGITS if logits else Kind.PROBS)


def options_for(specs: list[LossSpec], logits: bool | None) -> Options:
    """The interpretation options ``losscli.compute`` builds for these specs (its own helper,
    so these tests read inputs exactly as the API does as the API grows)."""
    return engine_run.options_for(specs, Options(kind=kind_of(logits)))


def sources(
    preds: Any, labels: Any, chunk_rows: int = DEFAULT_CHUNK_ROWS
) -> tuple[ArraySource, ArraySource]:
    return array_source("preds", preds, chunk_rows), array_source("labels", labels, chunk_rows)


def run_arrays(
    specs: list[str],
    preds: Any,
    labels: Any,
    *,
    logits: bool | None = None,
    reduction: str = "mean",
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    top: int = 0,
    sink: PerSampleSink | None = None,
) -> Report:
    """``losscli.engine.run.run`` on arrays cut into chunks of ``chunk_rows`` rows."""
    parsed = parse_specs(specs, reduction)
    p_src, l_src = sources(preds, labels, chunk_rows)
    return engine_run.run(
        p_src,
        l_src,
        parsed,
        options_for(parsed, logits),
        reduction=reduction,
        top=top,
        sink=sink,
        chunk_rows=chunk_rows,
    )


def engine_terms(
    spec_text: str, preds: Any, labels: Any, *, logits: bool | None = None
) -> tuple[PerSample, np.ndarray]:
    """The engine's per-sample terms for one loss over all rows, and the values it displays.

    Returns ``(terms, shown)``: ``terms.values`` / ``terms.weights`` as ``losscli.per_sample``
    gives them (torch's ``reduction="none"`` terms), ``shown`` as ``own_values`` gives them
    (a sample's own loss, what ``--per-sample`` writes).
    """
    (spec,) = parse_specs([spec_text], "mean")
    terms = losscli.per_sample(spec_text, preds, labels, logits=logits)
    return terms, own_values(spec, terms)
