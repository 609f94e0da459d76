"""The engine's seams: ``losscli.per_sample`` (public) and ``Evaluation.merge``.

Expected numbers are computed here with NumPy from the formulas written next to them.
"""

from __future__ import annotations

import numpy as np
import pytest
from numeric_helpers import options_for, sources

import losscli
from losscli.api import parse_specs
from losscli.engine.evaluate import evaluate
from losscli.engine.results import FileInfo
from losscli.interpret.align import BatchStream
from losscli.interpret.plan import plan_inputs


def test_per_sample_is_torch_reduction_none_for_mse() -> None:
    p, y = np.array([0.9, 0.2, 0.4]), np.array([1.0, 0.0, 1.0])
    terms = losscli.per_sample("mse", p, y)
    # (p - y)²: 0.01, 0.04, 0.36, by hand.
    assert terms.values.tolist() == pytest.approx([0.01, 0.04, 0.36], rel=1e-12)
    assert terms.weights.tolist() == [1.0, 1.0, 1.0]


def test_per_sample_class_weights_give_the_weighted_terms_and_the_mean() -> None:
    """torch's CE with weight=w, reduction="none" gives w[y]·nll (torch docs, CrossEntropyLoss);
    the mean is Σ w[y]·nll / Σ w[y]."""
    z = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3], [-1.0, 3.0, 0.0], [1.0, 1.0, 1.0]])
    y = np.array([0, 2, 1, 1])
    w = np.array([0.5, 2.0, 1.0])
    nll = np.log(np.exp(z).sum(axis=1)) - z[np.arange(4), y]  # logsumexp(z) - z[y]
    spec = "ce:weight=[0.5,2,1]"
    terms = losscli.per_sample(spec, z, y, logits=True)
    assert terms.values.tolist() == pytest.approx((w[y] * nll).tolist(), rel=1e-12)
    assert terms.weights.tolist() == pytest.approx(w[y].tolist(), rel=1e-15)
    mean = losscli.compute(spec, z, y, logits=True).value
    assert mean == pytest.approx(terms.values.sum() / terms.weights.sum(), rel=1e-12)


def test_per_sample_is_exported_lazily() -> None:
    assert "per_sample" in losscli.__all__
    with pytest.raises(AttributeError):
        _ = losscli.no_such_function


def test_evaluations_of_two_partitions_merge_into_the_whole_run() -> None:
    rng = np.random.default_rng(7)
    z, y = rng.normal(size=(40, 3)) * 2, rng.integers(0, 3, size=40)
    specs = parse_specs(["ce", "hinge"], "mean")
    files = (FileInfo("p", "npy", None), FileInfo("y", "npy", None))

    def run(rows: slice, top: int = 5) -> tuple:
        p_src, l_src = sources(z[rows], y[rows], chunk_rows=7)
        plan = plan_inputs(p_src, l_src, options_for(specs, True))
        stream = BatchStream(p_src, l_src, plan, 7)
        return evaluate(stream, specs, plan, top=top, by_class=True), plan

    whole, plan = run(slice(None))
    left, _ = run(slice(0, 25))
    right, _ = run(slice(25, None))
    left.merge(right)
    a = left.finalize(specs, plan, reduction="mean", files=files)
    b = whole.finalize(specs, plan, reduction="mean", files=files)
    for r, s in zip(a.results, b.results, strict=True):
        assert (r.n, r.value, r.std) == pytest.approx((s.n, s.value, s.std), rel=1e-12)
    assert a.n_samples == b.n_samples == 40
    assert [c.count for c in a.by_class] == [c.count for c in b.by_class]
    # Row numbers restart in each partition, so compare the losses kept, not the rows.
    assert sorted(w.losses[0] for w in a.worst) == pytest.approx(
        sorted(w.losses[0] for w in b.worst), rel=1e-15
    )
