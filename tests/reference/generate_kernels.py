"""Generate torch reference values for the row-block kernels (``losscli/losses/kernels.py``) and
write them to ``kernel_cases.json`` beside this script.

Run it in the reference environment (torch is NOT a losscli dependency):

    make reference            # runs this script too
    .refenv/bin/python tests/reference/generate_kernels.py

The inputs come from ``tests/kernel_inputs.py`` (exact integer arithmetic, so the test builds
the same arrays bit for bit); shapes put block boundaries inside the data (300 × 1,000 float32:
blocks of 131 rows, 65 with a float64 product buffer; 1,100 × 64 float64: 1,024; 4,100 × 16
float64: 4,096), leave N below one block (5 × 100, 2,050 × 10), take C large for few rows
(3 × 50,257: two rows per block, one with a product buffer), use
extreme logits (±1e4, −inf in float32) and dense maps (N, C, d1, d2).

Each case: id, inputs (shape, dtype, options), loss (a losscli function and its keyword
arguments), the torch call in ``reference``, ``mean`` (torch's reduction='mean'), ``sum`` (the
exactly rounded sum of torch's per-position values, float64) and ``per_sample`` at ``rows``
(positions in (n, d1, ...) order). ``ce`` cases are torch computing in the inputs' dtype
(float32 for float32 inputs, as users compare against); ``focal``, ``kl`` and ``js`` (no torch
function) are torch's formulas in float64 on the same float32 values.
"""

from __future__ import annotations

import json
import math
import platform
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
import kernel_inputs as ki  # noqa: E402

OUT = HERE / "kernel_cases.json"
torch.set_num_threads(1)
ALL_ROWS = 1200  # cases with at most this many positions keep every per-position value

SHAPES = {
    "f32-300x1000": ((300, 1000), "float32"),
    "f64-1100x64": ((1100, 64), "float64"),
    "f64-4100x16": ((4100, 16), "float64"),
    "f32-5x100": ((5, 100), "float32"),
    "f64-5x100": ((5, 100), "float64"),
    "f32-2050x10": ((2050, 10), "float32"),
    "f32-3x50257": ((3, 50257), "float32"),
    "f32-dense-3x5x4x7": ((3, 5, 4, 7), "float32"),
    "f64-dense-2x4x3x5": ((2, 4, 3, 5), "float64"),
}


def inputs(shape: tuple[int, ...], dtype: str, ignore_every: int = 0):
    z = ki.logits(shape, dtype)
    y = ki.labels((shape[0], *shape[2:]), shape[1], ignore_every)
    return z, y


def kept_rows(n: int) -> list[int]:
    if n <= ALL_ROWS:
        return list(range(n))
    near = set(range(8)) | set(range(n - 8, n)) | set(range(4088, 4104))
    return sorted(r for r in near if r < n)


def record(cases, id_, source, loss, kwargs, reference, per, mean) -> None:
    per = per.detach().double().reshape(-1).numpy()
    rows = kept_rows(len(per))
    cases.append(
        {
            "id": id_,
            "inputs": source,
            "loss": loss,
            "kwargs": kwargs,
            "reference": reference,
            "mean": float(mean),
            "sum": math.fsum(per.tolist()),
            "rows": rows,
            "per_sample": [float(v) for v in per[rows]],
        }
    )


def focal_terms(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    log_py = F.log_softmax(z, dim=1).gather(1, y.unsqueeze(1)).squeeze(1)
    return -torch.pow(-torch.expm1(log_py), 2.0) * log_py


def js_terms(z: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    q = F.softmax(z, dim=1)
    m = 0.5 * (p + q)
    return 0.5 * (torch.special.xlogy(p, p / m) + torch.special.xlogy(q, q / m)).sum(dim=1)


def ce_cases(cases, key: str, shape, dtype) -> None:
    z, y = inputs(shape, dtype)
    tz, ty = torch.from_numpy(z), torch.from_numpy(y)
    src = {"shape": key, "ignore_every": 0}
    per = F.cross_entropy(tz, ty, reduction="none")
    record(
        cases,
        f"{key}/ce",
        src,
        "ce",
        {},
        "torch 2.13.0: F.cross_entropy(z, y)",
        per,
        F.cross_entropy(tz, ty),
    )
    z, y = inputs(shape, dtype, ignore_every=11)
    tz, ty = torch.from_numpy(z), torch.from_numpy(y)
    w = torch.tensor(ki.class_weights(shape[1]), dtype=tz.dtype)
    call = {"weight": w, "ignore_index": ki.IGNORE, "label_smoothing": 0.1}
    record(
        cases,
        f"{key}/ce-smooth-weight-ignore",
        {"shape": key, "ignore_every": 11},
        "ce",
        {"label_smoothing": 0.1, "weight": "class_weights", "ignore_index": ki.IGNORE},
        "torch 2.13.0: F.cross_entropy(z, y, weight=w, ignore_index=-100, label_smoothing=0.1)",
        F.cross_entropy(tz, ty, reduction="none", **call),
        F.cross_entropy(tz, ty, **call),
    )


def flat_cases(cases, key: str, shape, dtype) -> None:
    """Losses of (n, C) scores only: focal, soft-label ce, kl and js from logits."""
    z, y = inputs(shape, dtype)
    src = {"shape": key, "ignore_every": 0}
    z64, ty = torch.from_numpy(z).double(), torch.from_numpy(y)
    per = focal_terms(z64, ty)
    record(
        cases,
        f"{key}/focal",
        src,
        "focal",
        {"gamma": 2.0},
        "torch 2.13.0 in float64: -(-expm1(log p_y))**2 * log p_y, log p = F.log_softmax(z)",
        per,
        per.mean(),
    )
    p = torch.from_numpy(ki.distributions(*shape))
    tz = torch.from_numpy(z)
    per = F.cross_entropy(tz, p.to(tz.dtype), reduction="none")
    record(
        cases,
        f"{key}/ce-soft",
        {**src, "target": True},
        "ce",
        {},
        "torch 2.13.0: F.cross_entropy(z, p) (soft targets p in the inputs' dtype)",
        per,
        F.cross_entropy(tz, p.to(tz.dtype)),
    )
    per = F.kl_div(F.log_softmax(z64, dim=1), p, reduction="none").sum(dim=1)
    record(
        cases,
        f"{key}/kl",
        {**src, "target": True},
        "kl",
        {},
        "torch 2.13.0 in float64: F.kl_div(F.log_softmax(z), p, reduction='none').sum(1)",
        per,
        F.kl_div(F.log_softmax(z64, dim=1), p, reduction="batchmean"),
    )
    per = js_terms(z64, p)
    record(
        cases,
        f"{key}/js",
        {**src, "target": True},
        "js",
        {},
        "torch 2.13.0 in float64: ½ Σ xlogy(p, p/m) + xlogy(q, q/m), q = softmax(z), m = ½(p+q)",
        per,
        per.mean(),
    )


def extreme_cases(cases) -> None:
    for dtype in ("float32", "float64"):
        z, y = ki.extreme(dtype)
        tz, ty = torch.from_numpy(z), torch.from_numpy(y)
        src = {"extreme": dtype}
        key = f"extreme-{dtype}"
        record(
            cases,
            f"{key}/ce",
            src,
            "ce",
            {},
            "torch 2.13.0: F.cross_entropy(z, y)",
            F.cross_entropy(tz, ty, reduction="none"),
            F.cross_entropy(tz, ty),
        )
        record(
            cases,
            f"{key}/ce-smooth",
            src,
            "ce",
            {"label_smoothing": 0.1},
            "torch 2.13.0: F.cross_entropy(z, y, label_smoothing=0.1)",
            F.cross_entropy(tz, ty, reduction="none", label_smoothing=0.1),
            F.cross_entropy(tz, ty, label_smoothing=0.1),
        )
        per = focal_terms(tz.double(), ty)
        record(
            cases,
            f"{key}/focal",
            src,
            "focal",
            {"gamma": 2.0},
            "torch 2.13.0 in float64: -(-expm1(log p_y))**2 * log p_y",
            per,
            per.mean(),
        )


def nll_case(cases) -> None:
    z, y = inputs((5, 100), "float64")
    logp = F.log_softmax(torch.from_numpy(z), dim=1)
    record(
        cases,
        "f64-5x100/nll",
        {"shape": "f64-5x100", "ignore_every": 0, "log_softmax": True},
        "nll",
        {},
        "torch 2.13.0: F.nll_loss(F.log_softmax(z), y) (losscli gets log p as "
        "losscli's own log_softmax)",
        F.nll_loss(logp, torch.from_numpy(y), reduction="none"),
        F.nll_loss(logp, torch.from_numpy(y)),
    )


def main() -> None:
    cases: list[dict] = []
    for key, (shape, dtype) in SHAPES.items():
        ce_cases(cases, key, shape, dtype)
        if len(shape) == 2:
            flat_cases(cases, key, shape, dtype)
    extreme_cases(cases)
    nll_case(cases)
    doc = {
        "versions": {
            "torch": torch.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
        "shapes": {k: {"shape": list(s), "dtype": d} for k, (s, d) in SHAPES.items()},
        "cases": cases,
    }
    OUT.write_text(json.dumps(doc, indent=1, allow_nan=True) + "\n", encoding="utf-8")
    print(f"wrote {len(cases)} cases to {OUT}")


if __name__ == "__main__":
    main()
