"""losscli.losses.numerics: the guarded logs and the log-softmax at the edges where a guard or
a shift decides the value (the loss tests reach them only through whole losses).

Expected values: SciPy (scipy.special.log_softmax, rel_entr, xlogy) or written out next to the
case (the clips are scikit-learn's: [eps, 1 − eps] with eps the machine epsilon of the dtype).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special

from losscli.losses.numerics import (
    Convention,
    clipped_log,
    log_probs,
    log_softmax,
    one_hot,
    prob_log,
    rel_entr,
)


def test_clipped_log_clips_at_float64_epsilon_on_both_sides() -> None:
    """log(1) would be 0: the clip gives log(1 − 2⁻⁵²) = −2⁻⁵² − 2⁻¹⁰⁵…, and log(0) gives
    log(2⁻⁵²) = −52·log 2."""
    eps = 2.0**-52
    got = clipped_log(np.array([1.0, 0.0, 0.5]))
    assert got.tolist() == [np.log1p(-eps), np.log(eps), np.log(0.5)]
    assert got[0] < 0.0


def test_sklearn_convention_clips_float32_at_float32_epsilon() -> None:
    """float32 predictions under --convention sklearn: [2⁻²³, 1 − 2⁻²³] in float32."""
    eps = np.float32(2.0**-23)
    got = prob_log(np.array([1.0, 0.0, 0.5], dtype=np.float32), Convention.SKLEARN)
    expected = np.log(np.array([np.float32(1.0) - eps, eps, 0.5], dtype=np.float32))
    assert got.dtype == np.float32
    assert got.tolist() == expected.tolist()
    assert got[0] < 0.0


def test_log_softmax_shifts_each_row_by_its_own_max() -> None:
    """Rows far apart in scale, and logits whose exp overflows: SciPy's log_softmax, finite."""
    z = np.array([[0.0, 1.0, -2.0], [-1000.0, -1001.0, -1003.0], [700.0, 800.0, 650.0]])
    got = log_softmax(z, axis=1)
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, special.log_softmax(z, axis=1), rtol=1e-13, atol=0)


def test_log_probs_of_logits_is_the_row_log_softmax() -> None:
    z = np.array([[0.0, 1.0, -2.0], [-1000.0, -1001.0, -1003.0]])
    np.testing.assert_allclose(
        log_probs(z, logits=True), special.log_softmax(z, axis=1), rtol=1e-13, atol=0
    )


def test_one_hot_rows() -> None:
    got = one_hot(np.array([2, 0, 1]), 3)
    assert got.dtype == np.float64
    assert got.tolist() == [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]


def test_rel_entr_matches_scipy_at_zeros() -> None:
    p = np.array([0.0, 0.0, 0.3, 0.7, 0.5])
    q = np.array([0.0, 0.5, 0.0, 0.2, 0.5])
    got = rel_entr(p, q)
    assert got.tolist() == pytest.approx(special.rel_entr(p, q).tolist(), rel=1e-15)
    assert got[2] == np.inf
