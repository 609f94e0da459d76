"""Generate reference values for ``losscli compare``'s paired t-test with PyTorch's per-sample
losses and ``scipy.stats.ttest_rel``, and write them to ``compare_cases.json`` beside this
script (read by tests/test_compare_stream.py, which runs compare in chunks of 7 rows).

Run it in the reference environment (torch and scipy are NOT losscli run-time dependencies):

    make reference            # runs this script too
    .refenv/bin/python tests/reference/generate_compare.py

Each case holds every model's predictions (the first is the baseline), the labels, the loss
spec and extra compare arguments, and per model after the first: the mean of the per-sample
differences B − A, ``ttest_rel(B, A)``'s statistic, p-value and df, and its
``confidence_interval(0.95)``. Inputs are seeded per case (from the case id) and written
with full precision (``repr``), so the files hold exactly these numbers.
"""

from __future__ import annotations

import json
import platform
import warnings
import zlib
from pathlib import Path

import numpy as np
import scipy
import torch
import torch.nn.functional as F
from scipy import stats

HERE = Path(__file__).resolve().parent
OUT = HERE / "compare_cases.json"
warnings.simplefilter("error")
torch.set_num_threads(1)


def rng(case_id: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(case_id.encode()))


def case(id: str, spec: str, models: list[np.ndarray], labels: np.ndarray, per_sample, args=()):
    """One case: per_sample(preds, labels) -> torch per-sample losses (reduction='none')."""
    losses = [per_sample(torch.from_numpy(m), torch.from_numpy(labels)).numpy() for m in models]
    expected = []
    for b in losses[1:]:
        ref = stats.ttest_rel(b, losses[0])
        ci = ref.confidence_interval(0.95)
        expected.append(
            {
                "mean_difference": float(np.mean(b - losses[0])),
                "statistic": float(ref.statistic),
                "pvalue": float(ref.pvalue),
                "df": int(ref.df),
                "ci_low": float(ci.low),
                "ci_high": float(ci.high),
            }
        )
    return {
        "id": id,
        "spec": spec,
        "args": list(args),
        "models": [m.tolist() for m in models],
        "labels": labels.tolist(),
        "expected": expected,
        "reference": f"torch {torch.__version__} per-sample losses (reduction='none'); "
        f"scipy {scipy.__version__} stats.ttest_rel(B, A) and .confidence_interval(0.95)",
    }


def regression() -> dict:
    r = rng("mse")
    y = r.normal(0, 2, 301)
    models = [y + r.normal(0, 1.0, 301), y + r.normal(0.1, 0.9, 301)]
    return case("mse", "mse", models, y, lambda p, t: F.mse_loss(p, t, reduction="none"))


def absolute() -> dict:
    r = rng("mae")
    y = r.normal(0, 1, 250)
    models = [y + r.standard_t(3, 250), y + 0.8 * r.standard_t(3, 250), y + r.normal(0, 2, 250)]
    return case("mae", "mae", models, y, lambda p, t: F.l1_loss(p, t, reduction="none"))


def logits() -> dict:
    r = rng("ce-logits")
    n, c = 280, 4
    y = r.integers(0, c, n)
    signal = np.eye(c)[y]
    models = [2.0 * signal + r.normal(0, 1.5, (n, c)), 2.6 * signal + r.normal(0, 1.5, (n, c))]
    return case(
        "ce-logits",
        "ce",
        models,
        y.astype(np.int64),
        lambda p, t: F.cross_entropy(p, t, reduction="none"),
        ("--logits",),
    )


def main() -> None:
    cases = [regression(), absolute(), logits()]
    doc = {
        "generated_with": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "scipy": scipy.__version__,
            "numpy": np.__version__,
        },
        "cases": cases,
    }
    OUT.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(cases)} cases to {OUT.name}")


if __name__ == "__main__":
    main()
