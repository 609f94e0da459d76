"""Generate reference values for the edge cases of the regression, distribution and dense
losses that ``make mutation`` showed no test stated (issue 15), and write them to
``loss_edges.json`` beside this script.

Run it in the reference environment (torch, Keras and mpmath are NOT losscli dependencies):

    make reference            # runs this script too
    KERAS_BACKEND=torch .refenv/bin/python tests/reference/generate_loss_edges.py

Each case: id, the losscli function (module, name) and its keyword arguments, ``preds`` and
``labels``, ``per_sample`` (float64, the library's per-sample values) and the library call in
``reference``. ``exact`` is true where the test compares bit for bit (a value at a branch
boundary, where the two sides of the branch round differently); else it compares to 1e-12.
"""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

import mpmath
import numpy as np
import torch
import torch.nn.functional as F

os.environ.setdefault("KERAS_BACKEND", "torch")
import keras

OUT = Path(__file__).resolve().parent / "loss_edges.json"
KERAS_EPS = 1e-7
F64 = torch.float64


def T(a: np.ndarray) -> torch.Tensor:
    return torch.tensor(np.asarray(a, dtype=np.float64), dtype=F64)


def case(cases, id_, fn, kwargs, preds, labels, per_sample, reference, exact=False) -> None:
    cases.append(
        {
            "id": id_,
            "fn": fn,
            "kwargs": kwargs,
            "preds": np.asarray(preds).tolist(),
            "labels": np.asarray(labels).tolist(),
            "per_sample": [float(v) for v in np.asarray(per_sample, dtype=np.float64).ravel()],
            "reference": reference,
            "exact": exact,
        }
    )


def keras_kl(cases, id_, q, p_given, kwargs, note) -> None:
    """Keras KLDivergence: clip p and q to [1e-7, 1], then sum p log(p / q); float64 formula,
    checked against keras.losses.kl_divergence (which computes in float32) to 1e-6."""
    p = np.exp(p_given) if kwargs.get("log_target") else np.asarray(p_given)
    pc, qc = np.clip(p, KERAS_EPS, 1.0), np.clip(q, KERAS_EPS, 1.0)
    per = (pc * np.log(pc / qc)).sum(axis=1)
    lib = keras.losses.kl_divergence(T(p), T(q)).cpu().numpy()
    assert np.allclose(lib, per, rtol=1e-6, atol=1e-7), (id_, lib, per)
    case(
        cases,
        id_,
        ["distribution", "kl_divergence"],
        {"logits": False, "convention": "keras", **kwargs},
        q,
        p_given,
        per,
        "hand (keras): numpy float64 sum(clip(p, 1e-7, 1) * log(clip(p, 1e-7, 1) / "
        f"clip(q, 1e-7, 1))), equals keras.losses.kl_divergence(p, q) to 1e-6; {note}",
    )


def main() -> None:
    cases: list[dict] = []

    # smooth_l1 at |d| == beta: torch takes the linear side (z < beta is false), whose value
    # d - beta/2 is exact; the quadratic side 0.5*d*d/beta rounds to 0.05000000000000001.
    x, y = np.array([0.1, 0.3]), np.array([0.0, 0.0])
    per = F.smooth_l1_loss(T(x), T(y), beta=0.1, reduction="none")
    case(
        cases,
        "smooth_l1-at-beta",
        ["regression", "smooth_l1"],
        {"beta": 0.1},
        x,
        y,
        per.numpy(),
        "torch.nn.functional.smooth_l1_loss(x, y, beta=0.1, reduction='none'), float64",
        exact=True,
    )

    # huber with delta = inf where |d| overflows to inf: z < delta is false, so torch takes
    # delta * (z - delta / 2) = inf * (inf - inf) = nan (the quadratic side would give inf).
    x, y = np.array([1e308, 0.5]), np.array([-1e308, 0.0])
    per = F.huber_loss(T(x), T(y), delta=float("inf"), reduction="none")
    case(
        cases,
        "huber-inf-delta-at-inf",
        ["regression", "huber"],
        {"delta": float("inf")},
        x,
        y,
        per.numpy(),
        "torch.nn.functional.huber_loss(x, y, delta=inf, reduction='none'), float64",
        exact=True,
    )

    # log_cosh at |d| == 1, where the two formulas meet: the correctly rounded log cosh 1.
    x, y = np.array([1.0, -1.0]), np.array([0.0, 0.0])
    mpmath.mp.dps = 50
    per = [float(mpmath.log(mpmath.cosh(mpmath.mpf(float(d))))) for d in x - y]
    case(
        cases,
        "log_cosh-at-1",
        ["regression", "log_cosh"],
        {},
        x,
        y,
        per,
        "mpmath.log(mpmath.cosh(d)) at 50 digits, rounded to float64",
        exact=True,
    )

    # Keras has no log target: with log_target the labels are exp'd, then clipped like p.
    # A zero in p (log p = -inf) becomes 1e-7 after Keras' clip (torch's log_target gives 0).
    q = np.array([[0.5, 0.5], [0.2, 0.8]])
    with np.errstate(divide="ignore"):
        log_p = np.log(np.array([[1.0, 0.0], [0.3, 0.7]]))
    keras_kl(cases, "kl-keras-log_target-zero", q, log_p, {"log_target": True}, "p = exp(labels)")
    # Keras does not renormalise KL's predictions: a q above 1 is clipped to 1 (the engine
    # lets it through under the keras convention, which accepts any q >= 0).
    q = np.array([[2.0, 0.5], [0.3, 0.7]])
    p = np.array([[0.4, 0.6], [0.5, 0.5]])
    keras_kl(cases, "kl-keras-q-above-1", q, p, {}, "q = 2 clipped to 1")
    # A label row may sum to 1 + 5e-5 (within the engine's 1e-4 tolerance): p = 1.00005 is
    # clipped to 1.
    q = np.array([[0.5, 0.5], [0.25, 0.75]])
    p = np.array([[1.00005, 0.0], [0.25, 0.75]])
    keras_kl(cases, "kl-keras-p-above-1", q, p, {}, "p = 1.00005 clipped to 1")

    # dice on one-dimensional maps (N, C, L): the smallest dense map.
    r = np.random.default_rng(20261129)
    x = r.normal(0, 2, (2, 3, 5))
    y = r.integers(0, 3, (2, 5))
    pr = torch.softmax(T(x), dim=1)
    g = F.one_hot(torch.tensor(y), 3).permute(0, 2, 1).to(F64)
    per = 1 - ((2 * (pr * g).sum(2) + 1.0) / (pr.sum(2) + g.sum(2) + 1.0)).mean(1)
    case(
        cases,
        "dice-1d-maps",
        ["dense", "dice"],
        {"logits": True, "smooth": 1.0},
        x,
        y,
        per.numpy(),
        "hand (torch): p = softmax(x, dim=1), g = one_hot(y) permuted to (N, C, L); per sample "
        "1 - mean_c (2 sum_L(p g) + 1) / (sum_L p + sum_L g + 1)",
    )

    OUT.write_text(
        json.dumps(
            {
                "generated_by": "tests/reference/generate_loss_edges.py",
                "versions": {
                    "python": platform.python_version(),
                    "torch": torch.__version__,
                    "keras": keras.__version__,
                    "mpmath": mpmath.__version__,
                    "numpy": np.__version__,
                },
                "cases": cases,
            },
            indent=1,
        )
        + "\n"
    )
    print(f"wrote {len(cases)} cases to {OUT}")


if __name__ == "__main__":
    main()
