"""Behaviours of losses/classification.py that no test stated until ``make mutation`` showed
a surviving mutant there (issue 15). Expected values are hand derivations written next to
them (the definitions of nll and ce per position), or torch 2.13.0's, quoted where used.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import log_softmax, softmax

from losscli.errors import DomainError, UsageError
from losscli.losses.classification import (
    binary_cross_entropy,
    cross_entropy,
    focal,
    hinge,
    multi_margin,
    nll,
)


def test_nll_reads_dense_maps_position_by_position() -> None:
    """(n, C, d) log-probabilities against (n, d) classes: −log p of each position's class,
    in (n, d) order (torch's nll_loss with reduction="none", flattened)."""
    z = np.arange(24, dtype=np.float64).reshape(2, 3, 4) % 5 - 2.0
    logp = log_softmax(z, axis=1)
    y = np.array([[0, 1, 2, 1], [2, 2, 0, 1]])
    got = nll(logp, y).values
    expected = [-logp[i, y[i, j], j] for i in range(2) for j in range(4)]
    assert got.tolist() == expected


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_nll_refuses_a_positive_log_probability_whose_exps_sum_to_one(dtype: str) -> None:
    """exp(5e-5) + exp(−20) = 1.0000500 + 2.1e-9: within LOG_PROB_SUM_TOL (1e-4) of 1, so only
    the rule "every value <= 0" refuses the row (float32 too, where the kernel's shift is
    the row max for this check)."""
    logp = np.array([[5e-5, -20.0], [-0.5, np.log(1 - np.exp(-0.5))]], dtype=dtype)
    with pytest.raises(DomainError, match="values <= 0"):
        nll(logp, np.array([0, 1]))


def test_ignored_rows_count_zero_even_where_class_0_has_log_p_minus_inf() -> None:
    """torch 2.13.0: nll_loss([[−inf, 0, −inf], ...], [−100, 1], reduction="none")[0] == 0 and
    cross_entropy([[−inf, 1, 2], ...], [−100, 1], reduction="none")[0] == 0 (with or without
    label_smoothing): an ignored row is skipped, not 0 · ∞ = NaN. The other row is its own."""
    logp = np.array([[-np.inf, 0.0, -np.inf], [-0.5, -1.25, -1.75]], dtype=np.float32)
    logp[1] = log_softmax(logp[1].astype(np.float64)).astype(np.float32)
    values = nll(logp, np.array([-100, 1])).values
    assert values.tolist() == [0.0, -float(logp[1, 1])]
    z = np.array([[-np.inf, 1.0, 2.0], [0.5, 1.0, -1.0]], dtype=np.float32)
    for eps in (0.0, 0.1):
        ce = cross_entropy(z, np.array([-100, 1]), logits=True, label_smoothing=eps).values
        alone = cross_entropy(z[1:], np.array([1]), logits=True, label_smoothing=eps).values
        assert ce.tolist() == [0.0, alone[0]]


def test_hard_label_losses_name_themselves_when_refusing_one_score_column() -> None:
    one_column = np.array([0.2, -0.3])
    with pytest.raises(UsageError, match=r"^nll needs one score column per class"):
        nll(one_column, np.array([0, 1]))
    with pytest.raises(UsageError, match=r"^multi_margin needs one score column per class"):
        multi_margin(one_column, np.array([0, 1]))


def test_bce_on_one_column_takes_one_pos_weight() -> None:
    with pytest.raises(UsageError, match="pos_weight has 2 values but the predictions have 1 "):
        binary_cross_entropy(
            np.array([0.5, -0.5]), np.array([1.0, 0.0]), logits=True, pos_weight=[1.0, 2.0]
        )


def test_binary_focal_on_probabilities() -> None:
    """torchvision's sigmoid_focal_loss on probabilities p: α_t (1 − p_t)^γ BCE with
    p_t = p for y = 1. p = 0.5, y = 1, γ = 2, α = 0.25: 0.25 · 0.5² · ln 2. A certain right
    answer (p = 1, y = 1; p = 0, y = 0) has 1 − p_t = 0 exactly, so its loss is exactly 0
    (not 0 after the clip of the log: the factor uses p itself). α = 0 weighs positives 0."""
    got = focal(np.array([0.5, 1.0, 0.0]), np.array([1.0, 1.0, 0.0]), logits=False).values
    assert got[0] == pytest.approx(0.25 * 0.25 * np.log(2.0), rel=1e-15)
    assert got[1:].tolist() == [0.0, 0.0]
    zero = focal(np.array([0.5, 0.5]), np.array([1.0, 0.0]), logits=False, alpha=0.0).values
    assert zero[0] == 0.0 and zero[1] == pytest.approx(0.5**2 * np.log(2.0), rel=1e-15)


def test_multiclass_focal_reads_dense_maps_and_takes_alpha_zero() -> None:
    """Dense (n, C, d) logits give the terms of their (n·d, C) positions; alpha = 0 (a
    constant factor when given, only a negative one disables it) makes every term 0."""
    z = np.arange(24, dtype=np.float64).reshape(2, 3, 4) % 5 - 2.0
    y = np.array([[0, 1, 2, 1], [2, 2, 0, 1]])
    dense = focal(z, y, logits=True).values
    flat = focal(np.moveaxis(z, 1, -1).reshape(-1, 3), y.reshape(-1), logits=True).values
    assert dense == pytest.approx(flat, rel=1e-14)
    assert focal(z, y, logits=True, alpha=0.0).values.tolist() == [0.0] * 8
    with pytest.raises(UsageError, match=r"^focal needs hard labels"):
        focal(z[:, :, 0], np.full((2, 3), 1 / 3), logits=True)


def test_unweighted_losses_without_ignored_rows_count_each_row_once() -> None:
    """PerSample.weights None means 1 per row (the mean divides by n); an ignored row
    weighs 0 and the others 1 (torch's denominator: the rows counted)."""
    z = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3]])
    y = np.array([0, 2])
    assert cross_entropy(z, y, logits=True).weights is None
    assert cross_entropy(softmax(z, axis=1), y, logits=False).weights is None
    assert nll(log_softmax(z, axis=1), y).weights is None
    ignored = cross_entropy(z, np.array([0, -100]), logits=True).weights
    assert ignored is not None and ignored.tolist() == [1.0, 0.0]
    weighted = cross_entropy(softmax(z, axis=1), y, logits=False, weight=[0.5, 2.0, 4.0])
    assert weighted.weights is not None and weighted.weights.tolist() == [0.5, 4.0]  # w[y]


def test_ignored_rows_of_probabilities_count_zero_with_label_smoothing() -> None:
    """torch skips an ignored row: its term is 0, the smoothing part too."""
    p = np.array([[0.0, 0.5, 0.5], [0.2, 0.3, 0.5]])
    got = cross_entropy(p, np.array([-100, 1]), logits=False, label_smoothing=0.1)
    assert got.values[0] == 0.0 and got.values[1] > 0


def test_label_smoothing_on_probabilities_with_class_weights_and_an_ignored_row() -> None:
    """Index targets, probabilities (far from the clip), ε = 0.2, weights w: torch's term
    (1 − ε)·w_y·(−log p_y) + ε/C·Σ_c w_c·(−log p_c), 0 for the ignored row, and the mean's
    denominator Σ w_y of the rows counted. Row 0 by hand: 0.8·0.5·0.35667494 + 0.2/3·
    (0.5·0.35667494 + 2·1.60943791 + 1.25·2.30258509) = 0.14266998 + 0.41836298 = 0.56103296.
    torch 2.13.0, cross_entropy(log p, y, weight=w, label_smoothing=0.2, reduction="none"):
    [0.561032955114168, 0.7906769694230829, 1.3631894551012258, 0.0], mean 0.7239731679035937."""
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.25, 0.5, 0.25], [0.3, 0.3, 0.4]])
    y = np.array([0, 2, 1, -100])
    w = [0.5, 2.0, 1.25]
    got = cross_entropy(p, y, logits=False, label_smoothing=0.2, weight=w)
    torch_terms = [0.561032955114168, 0.7906769694230829, 1.3631894551012258, 0.0]
    assert got.values == pytest.approx(torch_terms, rel=1e-12)
    assert got.weights is not None and got.weights.tolist() == [0.5, 1.25, 2.0, 0.0]  # w[y]
    assert got.values.sum() / got.weights.sum() == pytest.approx(0.7239731679035937, rel=1e-12)


def test_multi_margin_refuses_dense_maps() -> None:
    with pytest.raises(UsageError, match=r"^multi_margin needs one score column per class"):
        multi_margin(np.zeros((2, 3, 4)), np.zeros((2, 4), dtype=np.int64))


@pytest.mark.parametrize("logits", [True, False])
@pytest.mark.parametrize("eps", [0.0, 0.2])
def test_soft_targets_with_class_weights(logits: bool, eps: float) -> None:
    """torch's cross_entropy for class-probability targets: −Σ_c w_c t_c log p_c, with t
    smoothed to t(1 − ε) + ε/C first; p = softmax(z) or the given probabilities (far from
    the clip)."""
    z = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3], [-3.0, 0.0, 3.0]])
    t = np.array([[0.7, 0.2, 0.1], [0.0, 0.5, 0.5], [1.0, 0.0, 0.0]])
    w = [0.5, 2.0, 1.25]
    logp = log_softmax(z, axis=1)
    smoothed = t * (1 - eps) + eps / 3
    expected = -(smoothed * np.asarray(w) * logp).sum(axis=1)
    preds = z if logits else np.exp(logp)
    got = cross_entropy(preds, t, logits=logits, weight=w, label_smoothing=eps)
    assert got.values == pytest.approx(expected, rel=1e-12)
    assert got.weights is None  # soft targets: the mean divides by n


@pytest.mark.parametrize("shape", [(2, 3, 4), (2, 3, 2, 3)])
def test_ce_on_dense_probability_maps_is_ce_on_their_positions(shape: tuple[int, ...]) -> None:
    """(n, C, d1, ...) probabilities against (n, d1, ...) classes: the terms of the
    (n·d1·…, C) positions, in (n, d1, ...) order, with smoothing and class weights too."""
    z = (np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape) * 7 % 11) / 3
    p = softmax(z, axis=1)
    y = np.arange(int(np.prod(shape)) // 3).reshape((shape[0], *shape[2:])) * 5 % 3
    w = [0.5, 2.0, 1.25]
    dense = cross_entropy(p, y, logits=False, label_smoothing=0.1, weight=w)
    positions = np.moveaxis(p, 1, -1).reshape(-1, 3)
    flat = cross_entropy(positions, y.reshape(-1), logits=False, label_smoothing=0.1, weight=w)
    assert dense.values.tolist() == flat.values.tolist()


def test_binary_ce_and_hinge_refuse_what_they_cannot_take() -> None:
    p, y = np.array([0.2, 0.9]), np.array([0.0, 1.0])
    with pytest.raises(UsageError, match="takes no label_smoothing or weight"):
        cross_entropy(p, y, logits=False, label_smoothing=0.1)
    with pytest.raises(UsageError, match="takes no label_smoothing or weight"):
        cross_entropy(p, y, logits=False, weight=[1.0])
    with pytest.raises(UsageError, match="hinge losses need hard labels"):
        hinge(np.zeros((2, 3)), np.full((2, 3), 1 / 3))
