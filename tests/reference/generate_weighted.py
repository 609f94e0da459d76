"""Generate reference values for per-row sample weights (``--weight-col``, ``weights=``) with
scikit-learn's ``sample_weight`` and write them to ``weighted_cases.json`` beside this script.

Run it in the reference environment (scikit-learn and torch are NOT losscli dependencies):

    make reference            # runs this script too
    .refenv/bin/python tests/reference/generate_weighted.py

Every ``expected`` is the named library call with ``sample_weight=w``; the one case that
combines class weights with sample weights (``ce:weight=...``) has no library that takes
both, so its reference starts with ``hand:`` and says how torch's per-sample terms are
combined (the product of the two weights, as ARCHITECTURE.md defines it). Inputs are seeded
per case (from the case id); weights include exact zeros. Schema of one case: id, spec,
preds, labels, weights, kind (logits|probs|null), expected, reference.
"""

from __future__ import annotations

import json
import platform
import warnings
import zlib
from pathlib import Path

import numpy as np
import sklearn
import sklearn.metrics as skm
import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
OUT = HERE / "weighted_cases.json"
warnings.simplefilter("error")  # an unexpected library warning is a bug here
torch.set_num_threads(1)

CASES: list[dict] = []


def rng(case_id: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(case_id.encode()))


def weights(r: np.random.Generator, n: int) -> np.ndarray:
    """Non-negative weights spanning two orders of magnitude, two of them exactly 0."""
    w = np.round(r.uniform(0.01, 3.0, n), 3)
    w[r.choice(n, 2, replace=False)] = 0.0
    return w


def add(id: str, spec: str, preds, labels, w, expected, reference: str, kind=None) -> None:
    assert all(c["id"] != id for c in CASES), id
    labels = np.asarray(labels)
    CASES.append(
        {
            "id": id,
            "spec": spec,
            "preds": np.asarray(preds, dtype=np.float64).tolist(),
            "labels": labels.astype(np.int64 if labels.dtype.kind in "iu" else np.float64).tolist(),
            "weights": np.asarray(w, dtype=np.float64).tolist(),
            "kind": kind,
            "expected": float(expected),
            "reference": reference,
        }
    )


def regression(n: int = 17) -> None:
    for spec, fn, call in (
        ("mse", skm.mean_squared_error, "mean_squared_error(y, p, sample_weight=w)"),
        ("rmse", skm.root_mean_squared_error, "root_mean_squared_error(y, p, sample_weight=w)"),
        ("mae", skm.mean_absolute_error, "mean_absolute_error(y, p, sample_weight=w)"),
    ):
        r = rng(f"{spec}-weighted")
        y = r.normal(0, 2, n)
        p = y + r.normal(0, 1.5, n)
        w = weights(r, n)
        add(f"{spec}-weighted", spec, p, y, w, fn(y, p, sample_weight=w), f"sklearn {call}")
    r = rng("mse-multioutput-weighted")
    y, w = r.normal(0, 2, (n, 3)), weights(r, n)
    p = y + r.normal(0, 1, (n, 3))
    add(
        "mse-multioutput-weighted",
        "mse",
        p,
        y,
        w,
        skm.mean_squared_error(y, p, sample_weight=w),
        "sklearn mean_squared_error(y, p, sample_weight=w)  # 3 outputs, uniform average",
    )
    for q in (0.1, 0.5, 0.8):
        case = f"pinball-q-{q}-weighted"
        r = rng(case)
        y, w = r.normal(0, 2, n), weights(r, n)
        p = y + r.normal(0, 1.5, n)
        expected = skm.mean_pinball_loss(y, p, alpha=q, sample_weight=w)
        call = f"mean_pinball_loss(y, p, alpha={q}, sample_weight=w)"
        add(case, f"pinball:q={q}", p, y, w, expected, f"sklearn {call}")
    r = rng("msle-weighted")
    y, w = r.uniform(0, 20, n), weights(r, n)
    p = np.abs(y + r.normal(0, 3, n))
    expected = skm.mean_squared_log_error(y, p, sample_weight=w)
    add(
        "msle-weighted",
        "msle",
        p,
        y,
        w,
        expected,
        "sklearn mean_squared_log_error(y, p, sample_weight=w)",
    )
    r = rng("mape-weighted")
    y, w = r.normal(0, 10, n), weights(r, n)
    y[3] = 0.0  # sklearn divides by max(|y|, eps) there
    p = y + r.normal(0, 2, n)
    expected = skm.mean_absolute_percentage_error(y, p, sample_weight=w)
    call = "mean_absolute_percentage_error(y, p, sample_weight=w)  # y[3] = 0"
    add("mape-weighted", "mape", p, y, w, expected, f"sklearn {call}")


def classification(n: int = 19, c: int = 4) -> None:
    r = rng("log_loss-binary-weighted")
    y, w = r.integers(0, 2, n), weights(r, n)
    p = 1 / (1 + np.exp(-r.normal(0, 2, n)))
    expected = skm.log_loss(y, p, sample_weight=w, labels=[0, 1])
    call = "log_loss(y, p, sample_weight=w, labels=[0, 1])"
    add("log_loss-binary-weighted", "log_loss", p, y, w, expected, f"sklearn {call}", "probs")
    r = rng("log_loss-multiclass-weighted")
    y, w = r.integers(0, c, n), weights(r, n)
    z = r.normal(0, 2, (n, c))
    probs = torch.softmax(torch.as_tensor(z), dim=1).numpy()
    expected = skm.log_loss(y, probs, sample_weight=w, labels=list(range(c)))
    call = "log_loss(y, softmax(z), sample_weight=w, labels=range(4))"
    add("log_loss-multiclass-weighted", "ce", z, y, w, expected, f"sklearn {call}", "logits")
    r = rng("hinge-binary-weighted")
    y, w = r.integers(0, 2, n), weights(r, n)
    s = r.normal(0, 1.5, n)
    call = "hinge_loss(y, s, sample_weight=w)  # labels {0, 1} -> {-1, +1}"
    add(
        "hinge-binary-weighted",
        "hinge",
        s,
        y,
        w,
        skm.hinge_loss(y, s, sample_weight=w),
        f"sklearn {call}",
    )
    r = rng("hinge-multiclass-weighted")
    y, w = r.integers(0, c, n), weights(r, n)
    y[:c] = np.arange(c)  # every class present (sklearn infers the classes from y)
    s = r.normal(0, 1.5, (n, c))
    expected = skm.hinge_loss(y, s, sample_weight=w)
    call = "hinge_loss(y, s, sample_weight=w)  # Crammer-Singer"
    add("hinge-multiclass-weighted", "hinge", s, y, w, expected, f"sklearn {call}")
    # Class weights x sample weights: no library takes both; torch gives w[y]·nll per sample.
    r = rng("ce-class-and-sample-weights")
    y, w = r.integers(0, c, n), weights(r, n)
    z = r.normal(0, 2, (n, c))
    cw = [1.0, 2.0, 0.5, 1.5]
    terms = F.cross_entropy(
        torch.as_tensor(z),
        torch.as_tensor(y),
        weight=torch.tensor(cw, dtype=torch.float64),
        reduction="none",
    ).numpy()
    expected = float((w * terms).sum() / (w * np.asarray(cw)[y]).sum())
    # Cross-check: with unit sample weights this is torch's own weighted mean.
    plain = F.cross_entropy(
        torch.as_tensor(z), torch.as_tensor(y), weight=torch.tensor(cw, dtype=torch.float64)
    ).item()
    assert abs(terms.sum() / np.asarray(cw)[y].sum() - plain) < 1e-12
    add(
        "ce-class-and-sample-weights",
        "ce:weight=[1,2,0.5,1.5]",
        z,
        y,
        w,
        expected,
        "hand: t = torch cross_entropy(z, y, weight=cw, reduction='none') (= cw[y]·nll); "
        "sum(w·t) / sum(w·cw[y])",
        "logits",
    )


def main() -> None:
    regression()
    classification()
    doc = {
        "generated_by": "tests/reference/generate_weighted.py",
        "versions": {
            "python": platform.python_version(),
            "scikit-learn": sklearn.__version__,
            "torch": torch.__version__,
            "numpy": np.__version__,
        },
        "cases": CASES,
    }
    OUT.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(CASES)} cases to {OUT}")


if __name__ == "__main__":
    main()
