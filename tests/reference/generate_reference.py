"""Generate losscli's reference loss values with the real libraries (torch, scikit-learn, scipy,
Keras) and write them to ``cases.json`` beside this script.

Run it in the reference environment, which has those libraries (they are NOT losscli
dependencies): ``make refenv`` creates it in ``.refenv/`` at the repository root (git-ignored)
with the pinned versions, and ``make reference`` runs this script there, from the repository
root:

    make reference
    # or: KERAS_BACKEND=torch .refenv/bin/python tests/reference/generate_reference.py

Every case is computed here by calling the library named in its ``reference`` field; the few
losses that no installed library implements are computed by a formula copied from the named
library's source (the ``reference`` field then starts with ``hand:`` and cites it). Inputs are
seeded (one NumPy generator per case, seeded from the case id) and float64 unless the case says
``"dtype": "float32"``. The output is byte-identical for the same library versions.

Schema of one case (see README.md):
    id, spec, preds, labels, kind (logits|probs|null), reduction (mean|sum),
    convention (null|torch|sklearn|keras), expected, per_sample (or null), reference, dtype.

``per_sample[i]`` is sample i's term as torch's ``reduction="none"`` gives it (0 for ignored
rows, w[y_i]·nll_i with class weights), reduced over the sample's own elements: mean over the
k outputs of multi-output regression / multi-label BCE, sum over classes for KL; for dense
segmentation it is the image's own weighted mean over its counted pixels. It is null where the
library gives no per-sample values (scikit-learn, RMSE).
"""

from __future__ import annotations

import json
import math
import os
import platform
import sys
import warnings
import zlib
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")

import mpmath
import numpy as np
import scipy
import scipy.spatial.distance
import scipy.stats
import sklearn
import sklearn.metrics as skm
import torch
import torch.nn.functional as F

try:  # Keras 3 on the torch backend; optional (hand formulas from its source otherwise)
    import keras

    if keras.backend.backend() != "torch":
        raise ImportError("keras backend is not torch")
    KERAS_VERSION: str | None = keras.__version__
except Exception:
    keras = None
    KERAS_VERSION = None

HERE = Path(__file__).resolve().parent
OUT = HERE / "cases.json"
F64 = torch.float64
F32 = torch.float32
SK_EPS = float(np.finfo(np.float64).eps)  # sklearn log_loss clip
KERAS_EPS = 1e-7  # keras.backend.epsilon()

torch.set_num_threads(1)  # fixed summation order
warnings.simplefilter(
    "error"
)  # an unexpected library warning is a bug here; expected ones are caught

CASES: list[dict] = []
CHECKS = 0


# ------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------


def rng(case_id: str) -> np.random.Generator:
    """One generator per case, so adding a case never changes another case's inputs."""
    return np.random.default_rng(zlib.crc32(case_id.encode()))


def T(x, dtype=F64) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x), dtype=dtype)


def TI(x) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x), dtype=torch.long)


def check(a, b, tol=1e-12, what="") -> None:
    """Cross-check two independent computations of the same number (relative+absolute tol)."""
    global CHECKS
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if not np.allclose(a, b, rtol=tol, atol=tol, equal_nan=False):
        raise AssertionError(f"cross-check failed {what}: {a} vs {b}")
    CHECKS += 1


def _labels_json(labels):
    arr = np.asarray(labels)
    if arr.dtype.kind in "US":
        return [str(v) for v in arr.tolist()]
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64).tolist()
    return arr.astype(np.float64).tolist()


def add(
    id: str,
    spec: str,
    preds,
    labels,
    *,
    kind: str | None,
    expected,
    reference: str,
    per_sample=None,
    reduction: str = "mean",
    convention: str | None = None,
    dtype: str = "float64",
) -> None:
    assert kind in ("logits", "probs", None), kind
    assert reduction in ("mean", "sum"), reduction
    assert convention in (None, "torch", "sklearn", "keras"), convention
    assert dtype in ("float64", "float32"), dtype
    assert all(c["id"] != id for c in CASES), f"duplicate id {id}"
    expected = float(expected)
    assert math.isfinite(expected), f"{id}: expected is {expected}"
    if per_sample is not None:
        per_sample = np.asarray(
            per_sample.detach().numpy() if isinstance(per_sample, torch.Tensor) else per_sample,
            dtype=np.float64,
        )
        assert per_sample.ndim == 1 and per_sample.shape[0] == np.asarray(preds).shape[0], id
        assert np.all(np.isfinite(per_sample)), id
        per_sample = per_sample.tolist()
    p = preds.detach().numpy() if isinstance(preds, torch.Tensor) else preds
    CASES.append(
        {
            "id": id,
            "spec": spec,
            "preds": np.asarray(p, dtype=np.float64).tolist(),
            "labels": _labels_json(labels),
            "kind": kind,
            "reduction": reduction,
            "convention": convention,
            "expected": expected,
            "per_sample": per_sample,
            "reference": reference,
            "dtype": dtype,
        }
    )


def per_row(none_out: torch.Tensor, how: str = "mean") -> torch.Tensor:
    """Reduce torch's reduction='none' output over each sample's own elements."""
    if none_out.ndim == 1:
        return none_out
    flat = none_out.reshape(none_out.shape[0], -1)
    return flat.mean(1) if how == "mean" else flat.sum(1)


def softmax_np(z: np.ndarray) -> np.ndarray:
    return torch.softmax(T(z), dim=1).numpy()


def rand_dist(r: np.random.Generator, n: int, c: int, zeros: bool = True) -> np.ndarray:
    """Rows of a probability distribution; with some exact zeros and one one-hot row."""
    p = r.dirichlet(np.ones(c), size=n)
    if zeros:
        mask = r.random((n, c)) < 0.25
        mask[np.arange(n), r.integers(0, c, n)] = False  # every row keeps a positive entry
        p[mask] = 0.0
        p[0] = 0.0
        p[0, r.integers(0, c)] = 1.0
    return p / p.sum(axis=1, keepdims=True)


def reg_data(r: np.random.Generator, shape, scale: float = 2.0):
    """Regression preds/labels whose differences span both sides of 0.5, 1 and 2."""
    labels = r.normal(0.0, scale, size=shape)
    preds = labels + r.normal(0.0, 1.5, size=shape)
    return preds, labels


def one_hot(y: np.ndarray, c: int) -> np.ndarray:
    out = np.zeros((len(y), c))
    out[np.arange(len(y)), y] = 1.0
    return out


# REFERENCES.md inputs, verbatim
REF_LOGITS = [[2, 0.5, -1], [0.1, 1.5, 0.3], [-0.5, 0.2, 2.2], [1, 1, 1]]
REF_TARGETS = [0, 1, 2, 1]
REF_KL_P = [[0.36, 0.48, 0.16], [0.2, 0.3, 0.5]]
REF_KL_Q = [[1 / 3, 1 / 3, 1 / 3], [0.1, 0.6, 0.3]]
REF_BCE_X = [1.5, -0.3, 0.8, -2]
REF_BCE_Y = [1, 0, 1, 1]
REF_LL_Y = [0, 0, 0, 1, 1, 1]
REF_LL_P = [[0.5, 0.5], [0.1, 0.9], [0.01, 0.99], [0.9, 0.1], [0.75, 0.25], [0.001, 0.999]]
REF_REG_P = [0, 0.5, 2, -3]
REF_REG_Y = [0.2, 0, 0, 0]
ART_PROBS = [0.9, 0.2, 0.4]
ART_LABELS = [1, 0, 1]
ART_SCORES = [1.2, -0.5, 0.8]


# ------------------------------------------------------------------------------------------
# Issue 2: regression
# ------------------------------------------------------------------------------------------


def regression_case(id, spec, preds, labels, *, reduction="mean", dtype="float64"):
    """mse / rmse / mae / l1 / huber / smooth_l1 via torch; mse/mae cross-checked with sklearn."""
    name, _, params = spec.partition(":")
    kv = dict(x.split("=") for x in params.split(",")) if params else {}
    tdt = F32 if dtype == "float32" else F64
    x, y = T(preds, tdt), T(labels, tdt)
    if name == "rmse":
        assert reduction == "mean"
        mse = F.mse_loss(x, y)
        val = torch.sqrt(mse)
        yn, xn = np.asarray(labels, np.float64), np.asarray(preds, np.float64)
        if dtype == "float64":
            check(val, math.sqrt(skm.mean_squared_error(yn, xn)), what=id)
        add(
            id,
            spec,
            x,
            labels,
            kind=None,
            expected=val,
            per_sample=None,
            reduction=reduction,
            dtype=dtype,
            reference="torch.sqrt(torch.nn.functional.mse_loss(x, y)) "
            "== math.sqrt(sklearn.metrics.mean_squared_error(y, x))",
        )
        return
    if name == "mse":
        fn, call = F.mse_loss, "torch.nn.functional.mse_loss(x, y{r})"
        kw = {}
    elif name in ("mae", "l1"):
        fn, call = F.l1_loss, "torch.nn.functional.l1_loss(x, y{r})"
        kw = {}
    elif name == "huber":
        d = float(kv.get("delta", 1.0))
        fn, call, kw = (
            F.huber_loss,
            f"torch.nn.functional.huber_loss(x, y, delta={d}{{r}})",
            {"delta": d},
        )
    elif name == "smooth_l1":
        b = float(kv.get("beta", 1.0))
        fn, call, kw = (
            F.smooth_l1_loss,
            f"torch.nn.functional.smooth_l1_loss(x, y, beta={b}{{r}})",
            {"beta": b},
        )
    else:
        raise ValueError(name)
    val = fn(x, y, reduction=reduction, **kw)
    none = fn(x, y, reduction="none", **kw)
    if dtype == "float64" and reduction == "mean":
        yn, xn = np.asarray(labels, np.float64), np.asarray(preds, np.float64)
        if name == "mse":
            check(val, skm.mean_squared_error(yn, xn), what=id)
        if name in ("mae", "l1"):
            check(val, skm.mean_absolute_error(yn, xn), what=id)
    r = "" if reduction == "mean" else f", reduction='{reduction}'"
    add(
        id,
        spec,
        x,
        labels,
        kind=None,
        expected=val,
        per_sample=per_row(none, "mean"),
        reduction=reduction,
        dtype=dtype,
        reference=call.format(r=r),
    )


def gen_regression() -> None:
    # REFERENCES.md example, verbatim
    for spec in (
        "mse",
        "rmse",
        "mae",
        "l1",
        "huber",
        "huber:delta=1",
        "huber:delta=2",
        "huber:delta=0.5",
        "smooth_l1",
        "smooth_l1:beta=1",
        "smooth_l1:beta=2",
        "smooth_l1:beta=0.5",
    ):
        regression_case(
            f"ref-{spec.replace(':', '-').replace('=', '-')}", spec, REF_REG_P, REF_REG_Y
        )
    # random 1-D
    for n in (7, 23, 40):
        for spec in ("mse", "rmse", "mae"):
            cid = f"{spec}-random-n{n}"
            p, y = reg_data(rng(cid), (n,))
            regression_case(cid, spec, p, y)
    for n in (11, 29):
        cid = f"l1-random-n{n}"
        p, y = reg_data(rng(cid), (n,))
        regression_case(cid, "l1", p, y)
    for name, key in (("huber", "delta"), ("smooth_l1", "beta")):
        for v in ("1", "0.5", "2"):
            for n in (9, 31):
                cid = f"{name}-{key}-{v}-random-n{n}"
                p, y = reg_data(rng(cid), (n,))
                regression_case(cid, f"{name}:{key}={v}", p, y)
        cid = f"{name}-default-random-n17"
        p, y = reg_data(rng(cid), (17,))
        regression_case(cid, name, p, y)
        # all |d| below the threshold (pure quadratic) and all above (pure linear)
        cid = f"{name}-{key}-2-all-quadratic"
        r = rng(cid)
        y = r.normal(0, 1, 12)
        regression_case(cid, f"{name}:{key}=2", y + r.uniform(-1.9, 1.9, 12), y)
        cid = f"{name}-{key}-0.5-all-linear"
        r = rng(cid)
        y = r.normal(0, 1, 12)
        regression_case(
            cid, f"{name}:{key}=0.5", y + r.choice([-1, 1], 12) * r.uniform(0.6, 5, 12), y
        )
    # multi-output (n, k): torch means over all elements
    for spec, n, k in (
        ("mse", 12, 3),
        ("mse", 20, 2),
        ("mae", 9, 4),
        ("mae", 15, 3),
        ("rmse", 10, 3),
        ("huber:delta=0.5", 14, 2),
        ("smooth_l1:beta=2", 8, 3),
        ("l1", 6, 5),
    ):
        cid = f"{spec.replace(':', '-').replace('=', '-')}-multioutput-n{n}-k{k}"
        p, y = reg_data(rng(cid), (n, k))
        regression_case(cid, spec, p, y)
    # reduction sum
    for spec, shape in (
        ("mse", (13,)),
        ("mae", (13,)),
        ("huber:delta=2", (16,)),
        ("smooth_l1:beta=0.5", (16,)),
        ("mse", (7, 3)),
        ("l1", (10,)),
    ):
        cid = f"{spec.replace(':', '-').replace('=', '-')}-sum-{'x'.join(map(str, shape))}"
        p, y = reg_data(rng(cid), shape)
        regression_case(cid, spec, p, y, reduction="sum")
    regression_case("ref-mse-sum", "mse", REF_REG_P, REF_REG_Y, reduction="sum")
    regression_case("ref-huber-delta-2-sum", "huber:delta=2", REF_REG_P, REF_REG_Y, reduction="sum")
    # edge cases
    y = rng("mse-perfect").normal(0, 3, 8)
    regression_case("mse-perfect-prediction", "mse", y.copy(), y)
    regression_case("mae-perfect-prediction", "mae", y.copy(), y)
    regression_case("mse-single-sample", "mse", [2.5], [-1.0])
    regression_case("rmse-single-sample", "rmse", [2.5], [-1.0])
    cid = "mse-large-values"
    r = rng(cid)
    y = r.normal(0, 1e6, 10)
    regression_case(cid, "mse", y + r.normal(0, 1e3, 10), y)
    regression_case(
        "huber-delta-1-at-threshold", "huber:delta=1", [1.0, -1.0, 0.0, 3.0], [0.0, 0.0, 1.0, 2.0]
    )
    # float32 (torch computes in float32)
    for spec, shape in (("mse", (25,)), ("mae", (25,)), ("huber:delta=1", (19,)), ("mse", (8, 3))):
        cid = f"{spec.replace(':', '-').replace('=', '-')}-float32-{'x'.join(map(str, shape))}"
        p, y = reg_data(rng(cid), shape)
        regression_case(cid, spec, p.astype(np.float32), y.astype(np.float32), dtype="float32")


# ------------------------------------------------------------------------------------------
# Issue 2: cross-entropy
# ------------------------------------------------------------------------------------------


def ce_spec(ls=0.0, weight=None, ignore_index=None, name="ce"):
    parts = []
    if ls:
        parts.append(f"label_smoothing={ls}")
    if weight is not None:
        parts.append("weight=[" + ",".join(repr(float(w)).removesuffix(".0") for w in weight) + "]")
    if ignore_index is not None:
        parts.append(f"ignore_index={ignore_index}")
    return name + (":" + ",".join(parts) if parts else "")


def ce_logits_case(
    id,
    x,
    y,
    *,
    ls=0.0,
    weight=None,
    ignore_index=None,
    reduction="mean",
    name="ce",
    dtype="float64",
):
    tdt = F32 if dtype == "float32" else F64
    xt = T(x, tdt)
    yt = T(y, tdt) if np.asarray(y).ndim == 2 else TI(y)
    kw = {}
    args = []
    if weight is not None:
        kw["weight"] = T(weight, tdt)
        args.append(f"weight=torch.tensor({[float(w) for w in weight]})")
    if ignore_index is not None:
        kw["ignore_index"] = ignore_index
        args.append(f"ignore_index={ignore_index}")
    if ls:
        kw["label_smoothing"] = ls
        args.append(f"label_smoothing={ls}")
    if reduction != "mean":
        args.append(f"reduction='{reduction}'")
    val = F.cross_entropy(xt, yt, reduction=reduction, **kw)
    none = F.cross_entropy(xt, yt, reduction="none", **kw)
    tgt = "soft targets y (n, C)" if np.asarray(y).ndim == 2 else "index targets y"
    add(
        id,
        ce_spec(ls, weight, ignore_index, name),
        xt,
        y,
        kind="logits",
        expected=val,
        per_sample=none,
        reduction=reduction,
        dtype=dtype,
        reference=f"torch.nn.functional.cross_entropy(x, y{''.join(', ' + a for a in args)}); {tgt}",
    )


def ce_probs_case(id, p, y, c, *, reduction="mean", convention=None, spec="ce"):
    """sklearn log_loss(y, P, labels=range(C)); normalize=False for reduction sum."""
    normalize = reduction == "mean"
    with warnings.catch_warnings():
        # rows not summing to 1 warn in sklearn (no renormalisation since 1.7); only expected
        # in the cases named "unnormalised"
        if "unnormalised" in id:
            warnings.simplefilter("ignore", UserWarning)
        val = skm.log_loss(y, p, labels=list(range(c)), normalize=normalize)
    pn = np.asarray(p, np.float64)
    if np.all(pn > 0) and np.all(pn < 1) and pn.ndim == 2:
        nll = F.nll_loss(torch.log(T(pn)), TI(y), reduction=reduction)
        check(val, nll, tol=1e-12, what=id)
    args = "" if normalize else ", normalize=False"
    add(
        id,
        spec,
        p,
        y,
        kind="probs",
        expected=val,
        per_sample=None,
        reduction=reduction,
        convention=convention,
        reference=f"sklearn.metrics.log_loss(y, P, labels={list(range(c))}{args})",
    )


def gen_ce() -> None:
    # REFERENCES.md, verbatim
    ce_logits_case("ref-ce-plain", REF_LOGITS, REF_TARGETS)
    ce_logits_case("ref-cross_entropy-alias", REF_LOGITS, REF_TARGETS, name="cross_entropy")
    ce_logits_case("ref-ce-label_smoothing-0.1", REF_LOGITS, REF_TARGETS, ls=0.1)
    ce_logits_case("ref-ce-weight", REF_LOGITS, REF_TARGETS, weight=[1, 2, 0.5])
    ce_logits_case(
        "ref-ce-weight-label_smoothing-0.1", REF_LOGITS, REF_TARGETS, ls=0.1, weight=[1, 2, 0.5]
    )
    ce_logits_case("ref-ce-sum", REF_LOGITS, REF_TARGETS, reduction="sum")
    ce_logits_case(
        "ref-ce-weight-sum", REF_LOGITS, REF_TARGETS, weight=[1, 2, 0.5], reduction="sum"
    )

    def logits(cid, n, c, scale=2.0):
        r = rng(cid)
        return r.normal(0, scale, (n, c)), r.integers(0, c, n), r

    for n, c in ((20, 4), (33, 5), (8, 3), (40, 3)):
        cid = f"ce-logits-plain-n{n}-c{c}"
        x, y, _ = logits(cid, n, c)
        ce_logits_case(cid, x, y)
    cid = "cross_entropy-alias-logits-n12-c4"
    x, y, _ = logits(cid, 12, 4)
    ce_logits_case(cid, x, y, name="cross_entropy")
    for ls in (0.1, 0.3):
        for n, c in ((15, 3), (27, 5)):
            cid = f"ce-logits-label_smoothing-{ls}-n{n}-c{c}"
            x, y, _ = logits(cid, n, c)
            ce_logits_case(cid, x, y, ls=ls)
    for w in ([1, 2, 0.5], [0.2, 1.5, 3, 1], [1, 0, 2, 0.5, 1]):
        c = len(w)
        cid = f"ce-logits-weight-c{c}"
        x, y, _ = logits(cid, 18, c)
        ce_logits_case(cid, x, y, weight=w)
    for ls, w in ((0.1, [0.5, 2, 1, 3]), (0.3, [1, 2, 0.5])):
        cid = f"ce-logits-weight-label_smoothing-{ls}-c{len(w)}"
        x, y, _ = logits(cid, 21, len(w))
        ce_logits_case(cid, x, y, ls=ls, weight=w)
    # ignore_index
    cid = "ce-logits-ignore_index-1"
    x, y, r = logits(cid, 16, 4)
    y[[0, 3, 7, 11]] = 1
    ce_logits_case(cid, x, y, ignore_index=1)
    cid = "ce-logits-ignore_index-1-weight"
    x, y, r = logits(cid, 16, 3)
    y[[2, 5]] = 1
    ce_logits_case(cid, x, y, ignore_index=1, weight=[1, 2, 0.5])
    cid = "ce-logits-ignore_index-2-label_smoothing-0.1"
    x, y, r = logits(cid, 14, 4)
    y[[1, 4, 9]] = 2
    ce_logits_case(cid, x, y, ignore_index=2, ls=0.1)
    cid = "ce-logits-ignore_index-2-weight-label_smoothing-0.3"
    x, y, r = logits(cid, 14, 3)
    y[[1, 4, 9]] = 2
    ce_logits_case(cid, x, y, ignore_index=2, ls=0.3, weight=[2, 0.5, 1])
    cid = "ce-logits-default-ignore-minus100"
    x, y, r = logits(cid, 12, 3)
    y[[2, 6, 10]] = -100
    ce_logits_case(cid, x, y)
    cid = "ce-logits-default-ignore-minus100-weight"
    x, y, r = logits(cid, 12, 3)
    y[[0, 6]] = -100
    ce_logits_case(cid, x, y, weight=[0.5, 1, 2])
    cid = "ce-logits-ignore_index-minus100-explicit"
    x, y, r = logits(cid, 10, 4)
    y[[3, 4]] = -100
    ce_logits_case(cid, x, y, ignore_index=-100)
    cid = "ce-logits-ignore_index-0-sum"
    x, y, r = logits(cid, 13, 3)
    y[[1, 2]] = 0
    ce_logits_case(cid, x, y, ignore_index=0, reduction="sum")
    # reduction sum
    cid = "ce-logits-sum-n19-c4"
    x, y, _ = logits(cid, 19, 4)
    ce_logits_case(cid, x, y, reduction="sum")
    cid = "ce-logits-weight-sum-c3"
    x, y, _ = logits(cid, 11, 3)
    ce_logits_case(cid, x, y, weight=[1, 3, 0.5], reduction="sum")
    cid = "ce-logits-label_smoothing-0.1-sum"
    x, y, _ = logits(cid, 11, 4)
    ce_logits_case(cid, x, y, ls=0.1, reduction="sum")
    # soft (probability) targets
    for extra, kw in (
        ("plain", {}),
        ("label_smoothing-0.1", {"ls": 0.1}),
        ("label_smoothing-0.3", {"ls": 0.3}),
        ("weight", {"weight": [1, 2, 0.5, 1.5]}),
        ("weight-label_smoothing-0.1", {"weight": [1, 2, 0.5, 1.5], "ls": 0.1}),
        ("sum", {"reduction": "sum"}),
    ):
        cid = f"ce-logits-soft-targets-{extra}"
        r = rng(cid)
        x = r.normal(0, 2, (13, 4))
        ce_logits_case(cid, x, rand_dist(r, 13, 4), **kw)
    # extreme logits: log-softmax stays finite
    cid = "ce-logits-extreme-1e4"
    x, y, r = logits(cid, 10, 4)
    x[0, :] = [1e4, -1e4, 0.5, 1.0]
    y[0] = 0
    x[1, :] = [1e4, -1e4, 0.5, 1.0]
    y[1] = 1  # confidently wrong: loss 2e4
    x[2, :] = [-1e4, -1e4, -1e4, -1e4 + 3]
    x[3, :] = [1e4, 1e4, -3, 2]
    ce_logits_case(cid, x, y)
    cid = "ce-logits-extreme-1e4-label_smoothing-0.1"
    x, y, r = logits(cid, 8, 3)
    x[0, :] = [1e4, -1e4, 0.0]
    x[5, :] = [-1e4, 2.0, 1e4]
    ce_logits_case(cid, x, y, ls=0.1)
    ce_logits_case("ce-logits-single-sample", [[0.3, -1.2, 2.0, 0.0]], [2])
    # float32
    for extra, kw in (
        ("plain", {}),
        ("label_smoothing-0.1", {"ls": 0.1}),
        ("weight", {"weight": [1, 2, 0.5]}),
    ):
        cid = f"ce-logits-float32-{extra}"
        x, y, _ = logits(cid, 24, 3)
        ce_logits_case(cid, x.astype(np.float32), y, dtype="float32", **kw)

    # ---- probabilities (kind probs): sklearn log_loss --------------------------------------
    ce_probs_case("ref-ce-probs-log_loss-two-columns", REF_LL_P, REF_LL_Y, 2)
    for n, c in ((15, 4), (30, 3), (9, 5)):
        cid = f"ce-probs-n{n}-c{c}"
        r = rng(cid)
        ce_probs_case(cid, softmax_np(r.normal(0, 2, (n, c))), r.integers(0, c, n), c)
    cid = "ce-probs-missing-classes"
    r = rng(cid)
    ce_probs_case(cid, softmax_np(r.normal(0, 2, (7, 5))), [0, 2, 2, 0, 4, 2, 0], 5)
    cid = "ce-probs-zero-on-wrong-class"
    r = rng(cid)
    y = r.integers(0, 4, 12)
    p = softmax_np(r.normal(0, 2, (12, 4)))
    for i in (0, 3, 7):  # exact 0 on a wrong class, the mass moved to the true class
        j = (y[i] + 1) % 4
        p[i, y[i]] += p[i, j]
        p[i, j] = 0.0
    p[5] = 0.0
    p[5, y[5]] = 1.0  # exactly certain and right
    ce_probs_case(cid, p, y, 4)
    cid = "ce-probs-zero-on-true-class"
    r = rng(cid)
    y = r.integers(0, 3, 10)
    p = softmax_np(r.normal(0, 2, (10, 3)))
    p[4] = 0.0
    p[4, (y[4] + 1) % 3] = 1.0  # certain and wrong: sklearn clips to eps -> -log(eps) = 36.04
    ce_probs_case(cid, p, y, 3)
    cid = "ce-probs-sum"
    r = rng(cid)
    ce_probs_case(
        cid, softmax_np(r.normal(0, 2, (14, 4))), r.integers(0, 4, 14), 4, reduction="sum"
    )
    # binary, one prediction column = P(class 1)
    ce_probs_case("ref-article-ce-binary-probs", ART_PROBS, ART_LABELS, 2)
    for n in (25, 8):
        cid = f"ce-binary-probs-n{n}"
        r = rng(cid)
        ce_probs_case(cid, r.uniform(0.01, 0.99, n), r.integers(0, 2, n), 2)
    cid = "ce-binary-probs-sum"
    r = rng(cid)
    ce_probs_case(cid, r.uniform(0.01, 0.99, 12), r.integers(0, 2, 12), 2, reduction="sum")


# ------------------------------------------------------------------------------------------
# Issue 2: bce
# ------------------------------------------------------------------------------------------


def bce_probs_case(id, p, y, *, reduction="mean", dtype="float64"):
    tdt = F32 if dtype == "float32" else F64
    pt, yt = T(p, tdt), T(y, tdt)
    val = F.binary_cross_entropy(pt, yt, reduction=reduction)
    none = F.binary_cross_entropy(pt, yt, reduction="none")
    yn = np.asarray(y, np.float64)
    if dtype == "float64" and yn.ndim == 1 and np.all((yn == 0) | (yn == 1)):
        ll = skm.log_loss(
            yn, np.asarray(p, np.float64), labels=[0, 1], normalize=reduction == "mean"
        )
        check(val, ll, tol=1e-12, what=id)
    r = "" if reduction == "mean" else f", reduction='{reduction}'"
    add(
        id,
        "bce",
        pt,
        y,
        kind="probs",
        expected=val,
        per_sample=per_row(none, "mean"),
        reduction=reduction,
        dtype=dtype,
        reference=f"torch.nn.functional.binary_cross_entropy(p, y{r})",
    )


def bce_logits_case(id, x, y, *, pos_weight=None, reduction="mean", dtype="float64"):
    tdt = F32 if dtype == "float32" else F64
    xt, yt = T(x, tdt), T(y, tdt)
    kw = {} if pos_weight is None else {"pos_weight": torch.tensor(float(pos_weight), dtype=tdt)}
    val = F.binary_cross_entropy_with_logits(xt, yt, reduction=reduction, **kw)
    none = F.binary_cross_entropy_with_logits(xt, yt, reduction="none", **kw)
    args = ("" if pos_weight is None else f", pos_weight=torch.tensor({float(pos_weight)})") + (
        "" if reduction == "mean" else f", reduction='{reduction}'"
    )
    spec = "bce" if pos_weight is None else f"bce:pos_weight={pos_weight}"
    add(
        id,
        spec,
        xt,
        y,
        kind="logits",
        expected=val,
        per_sample=per_row(none, "mean"),
        reduction=reduction,
        dtype=dtype,
        reference=f"torch.nn.functional.binary_cross_entropy_with_logits(x, y{args})",
    )


def gen_bce() -> None:
    bce_probs_case("ref-article-bce-probs", ART_PROBS, ART_LABELS)
    bce_logits_case("ref-bce-logits", REF_BCE_X, REF_BCE_Y)
    bce_logits_case("ref-bce-logits-pos_weight-3", REF_BCE_X, REF_BCE_Y, pos_weight=3)
    for n in (30, 9):
        cid = f"bce-probs-n{n}"
        r = rng(cid)
        bce_probs_case(cid, r.uniform(0.001, 0.999, n), r.integers(0, 2, n))
    cid = "bce-probs-soft-targets"
    r = rng(cid)
    bce_probs_case(cid, r.uniform(0.02, 0.98, 15), np.round(r.uniform(0, 1, 15), 3))
    cid = "bce-probs-multilabel-n10-k3"
    r = rng(cid)
    bce_probs_case(cid, r.uniform(0.01, 0.99, (10, 3)), r.integers(0, 2, (10, 3)))
    cid = "bce-probs-sum"
    r = rng(cid)
    bce_probs_case(cid, r.uniform(0.01, 0.99, 14), r.integers(0, 2, 14), reduction="sum")
    cid = "bce-probs-near-0-and-1"
    bce_probs_case(cid, [1e-12, 1 - 1e-12, 1e-9, 0.5, 1 - 1e-9], [0, 1, 1, 1, 0])
    for n in (25, 12):
        cid = f"bce-logits-n{n}"
        r = rng(cid)
        bce_logits_case(cid, r.normal(0, 2.5, n), r.integers(0, 2, n))
    for pw in (3, 0.5):
        for n in (20, 11):
            cid = f"bce-logits-pos_weight-{pw}-n{n}"
            r = rng(cid)
            bce_logits_case(cid, r.normal(0, 2.5, n), r.integers(0, 2, n), pos_weight=pw)
    cid = "bce-logits-soft-targets"
    r = rng(cid)
    bce_logits_case(cid, r.normal(0, 2, 17), np.round(r.uniform(0, 1, 17), 3))
    cid = "bce-logits-soft-targets-pos_weight-3"
    r = rng(cid)
    bce_logits_case(cid, r.normal(0, 2, 17), np.round(r.uniform(0, 1, 17), 3), pos_weight=3)
    cid = "bce-logits-extreme-1e4"
    r = rng(cid)
    x = r.normal(0, 2, 10)
    x[:4] = [1e4, -1e4, 1e4, -1e4]
    y = r.integers(0, 2, 10)
    y[:4] = [1, 0, 0, 1]  # two exact 0 losses, two losses of exactly 1e4
    bce_logits_case(cid, x, y)
    cid = "bce-logits-multilabel-n9-k4-pos_weight-0.5"
    r = rng(cid)
    bce_logits_case(cid, r.normal(0, 2, (9, 4)), r.integers(0, 2, (9, 4)), pos_weight=0.5)
    cid = "bce-logits-multilabel-n9-k4"
    r = rng(cid)
    bce_logits_case(cid, r.normal(0, 2, (9, 4)), r.integers(0, 2, (9, 4)))
    cid = "bce-logits-sum"
    r = rng(cid)
    bce_logits_case(cid, r.normal(0, 2, 16), r.integers(0, 2, 16), reduction="sum")
    cid = "bce-logits-pos_weight-3-sum"
    r = rng(cid)
    bce_logits_case(cid, r.normal(0, 2, 16), r.integers(0, 2, 16), pos_weight=3, reduction="sum")
    cid = "bce-logits-float32"
    r = rng(cid)
    bce_logits_case(
        cid, r.normal(0, 2, 30).astype(np.float32), r.integers(0, 2, 30), dtype="float32"
    )
    cid = "bce-probs-float32"
    r = rng(cid)
    bce_probs_case(
        cid, r.uniform(0.01, 0.99, 30).astype(np.float32), r.integers(0, 2, 30), dtype="float32"
    )


# ------------------------------------------------------------------------------------------
# Issue 2: kl
# ------------------------------------------------------------------------------------------


def kl_case(id, preds, p, *, kind="probs", reduction="mean", convention=None, dtype="float64"):
    """labels p: distributions (n, C) or int indices (-> one-hot). reduction 'mean' means
    batchmean unless convention == 'torch' (torch's elementwise mean over N*C)."""
    tdt = F32 if dtype == "float32" else F64
    pa = np.asarray(p)
    c = np.asarray(preds).shape[1]
    target = T(one_hot(pa, c) if pa.ndim == 1 else pa, tdt)
    x = T(preds, tdt)
    logq = torch.log_softmax(x, dim=1) if kind == "logits" else torch.log(x)
    lq = "torch.log_softmax(z, dim=1)" if kind == "logits" else "torch.log(q)"
    if reduction == "sum":
        tred = "sum"
    elif convention == "torch":
        tred = "mean"
    else:
        tred = "batchmean"
    with warnings.catch_warnings():
        if tred == "mean":  # torch warns that 'mean' is not the true KL
            warnings.simplefilter("ignore", UserWarning)
        val = F.kl_div(logq, target, reduction=tred)
    none = F.kl_div(logq, target, reduction="none")
    if dtype == "float64":
        # scipy: sum_c rel_entr(p, q) per row
        q = torch.exp(logq).numpy()
        rows = scipy.special.rel_entr(target.numpy(), q).sum(1)
        ref = (
            rows.sum()
            if tred == "sum"
            else rows.mean()
            if tred == "batchmean"
            else rows.sum() / target.numel()
        )
        check(val, ref, tol=1e-11, what=id)
    tgt = "p = one_hot(y)" if pa.ndim == 1 else "p"
    add(
        id,
        "kl",
        x,
        p,
        kind=kind,
        expected=val,
        per_sample=per_row(none, "sum"),
        reduction=reduction,
        convention=convention,
        dtype=dtype,
        reference=f"torch.nn.functional.kl_div({lq}, {tgt}, reduction='{tred}')",
    )


def gen_kl() -> None:
    kl_case("ref-kl-batchmean", REF_KL_Q, REF_KL_P)
    kl_case("ref-kl-sum", REF_KL_Q, REF_KL_P, reduction="sum")
    for n, c in ((12, 4), (25, 3), (7, 5)):
        cid = f"kl-probs-n{n}-c{c}"
        r = rng(cid)
        kl_case(cid, softmax_np(r.normal(0, 1.5, (n, c))), rand_dist(r, n, c))
    for n, c in ((10, 4), (18, 3)):
        cid = f"kl-logits-n{n}-c{c}"
        r = rng(cid)
        kl_case(cid, r.normal(0, 2, (n, c)), rand_dist(r, n, c), kind="logits")
    cid = "kl-logits-extreme"
    r = rng(cid)
    z = r.normal(0, 2, (6, 3))
    z[0] = [1e3, -1e3, 0]
    z[1] = [-50, 40, 3]
    p = rand_dist(r, 6, 3, zeros=False)
    p[0] = [1.0, 0.0, 0.0]
    p[1] = [0.0, 0.5, 0.5]
    kl_case(cid, z, p, kind="logits")
    for n, c in ((11, 3), (16, 4)):
        cid = f"kl-probs-hard-labels-n{n}-c{c}"
        r = rng(cid)
        kl_case(cid, softmax_np(r.normal(0, 2, (n, c))), r.integers(0, c, n))
    cid = "kl-probs-sum"
    r = rng(cid)
    kl_case(cid, softmax_np(r.normal(0, 1.5, (9, 4))), rand_dist(r, 9, 4), reduction="sum")
    cid = "kl-logits-sum"
    r = rng(cid)
    kl_case(cid, r.normal(0, 2, (9, 3)), rand_dist(r, 9, 3), kind="logits", reduction="sum")
    cid = "kl-identical-distributions"
    r = rng(cid)
    q = rand_dist(r, 5, 3, zeros=False)
    kl_case(cid, q, q.copy())
    cid = "kl-probs-float32"
    r = rng(cid)
    q = softmax_np(r.normal(0, 1.5, (20, 4))).astype(np.float32)
    p = rand_dist(r, 20, 4).astype(np.float32)
    kl_case(cid, q, p, dtype="float32")


# ------------------------------------------------------------------------------------------
# Issue 2: hinge, squared_hinge, hinge_embedding
# ------------------------------------------------------------------------------------------


def cs_margins(s: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Crammer–Singer per-sample hinge, exactly as sklearn.metrics.hinge_loss computes it."""
    mask = np.ones_like(s, dtype=bool)
    mask[np.arange(len(y)), y] = False
    margin = s[~mask] - np.max(s[mask].reshape(len(y), -1), axis=1)
    return np.clip(1 - margin, 0, None)


def binary_pm1(y) -> np.ndarray:
    """sklearn's LabelBinarizer(neg_label=-1): the larger of the two labels is +1."""
    ya = np.asarray(y)
    classes = np.unique(ya)
    assert len(classes) == 2
    return np.where(ya == classes[1], 1.0, -1.0)


def hinge_case(id, s, y, c=None, *, reduction="mean"):
    sa = np.asarray(s, np.float64)
    if sa.ndim == 2:
        val = skm.hinge_loss(y, sa, labels=list(range(c)))
        per = cs_margins(sa, np.asarray(y))
        call = f"sklearn.metrics.hinge_loss(y, S, labels={list(range(c))})"
    else:
        val = skm.hinge_loss(y, sa)
        per = np.clip(1 - binary_pm1(y) * sa, 0, None)
        call = "sklearn.metrics.hinge_loss(y, s)"
    check(val, per.mean(), what=id)
    if reduction == "sum":
        val = val * len(sa)
        call = f"len(y) * {call}"
    add(
        id,
        "hinge",
        sa,
        y,
        kind=None,
        expected=val,
        per_sample=None,
        reduction=reduction,
        reference=call,
    )


def squared_hinge_case(id, s, y, *, reduction="mean"):
    sa = np.asarray(s, np.float64)
    ya = np.asarray(y)
    if sa.ndim == 2:
        per = np.square(cs_margins(sa, ya))
        check(np.sqrt(per).mean(), skm.hinge_loss(ya, sa, labels=list(range(sa.shape[1]))), what=id)
        ref = (
            "hand: numpy mean of (Crammer–Singer term of sklearn.metrics.hinge_loss)**2, "
            "term = max(0, 1 - (s_y - max_{j!=y} s_j))"
        )
    else:
        ypm = binary_pm1(ya)
        per = np.square(np.clip(1 - ypm * sa, 0, None))
        ref = (
            "hand: numpy float64 mean(max(0, 1 - y*s)**2), y in {-1,+1} (the formula of "
            "keras.losses.squared_hinge)"
        )
        if keras is not None:
            # keras converts {0,1} labels to {-1,+1} itself; (n, 1) shape -> one value per sample.
            # Keras 3 returns float32 even for float64 inputs (its type promotion forces 64-bit
            # to 32-bit in ops.maximum with a Python scalar), so it is the check, not the value.
            kper = keras.losses.squared_hinge(T(ya.astype(np.float64)[:, None]), T(sa[:, None]))
            check(kper.numpy(), per, tol=1e-6, what=id)
            ref += (
                "; equals keras.losses.squared_hinge(y[:, None], s[:, None]) to float32 precision"
            )
    val = per.sum() if reduction == "sum" else per.mean()
    add(
        id,
        "squared_hinge",
        sa,
        y,
        kind=None,
        expected=val,
        per_sample=per,
        reduction=reduction,
        reference=ref + (" summed" if reduction == "sum" else ""),
    )


def hinge_embedding_case(id, x, y, margin=None, *, reduction="mean"):
    kw = {} if margin is None else {"margin": float(margin)}
    xt, yt = T(x), T(y)
    val = F.hinge_embedding_loss(xt, yt, reduction=reduction, **kw)
    none = F.hinge_embedding_loss(xt, yt, reduction="none", **kw)
    spec = "hinge_embedding" if margin is None else f"hinge_embedding:margin={margin}"
    args = ("" if margin is None else f", margin={float(margin)}") + (
        "" if reduction == "mean" else f", reduction='{reduction}'"
    )
    add(
        id,
        spec,
        xt,
        y,
        kind=None,
        expected=val,
        per_sample=per_row(none),
        reduction=reduction,
        reference=f"torch.nn.functional.hinge_embedding_loss(x, y{args})",
    )


def gen_hinge() -> None:
    hinge_case("ref-article-hinge", ART_SCORES, ART_LABELS)
    for n, labs in ((20, (0, 1)), (15, (-1, 1)), (12, (2, 5)), (9, (0, 1))):
        cid = f"hinge-binary-labels-{labs[0]}-{labs[1]}-n{n}"
        r = rng(cid)
        y = np.asarray(labs)[r.integers(0, 2, n)]
        y[:2] = labs
        hinge_case(cid, r.normal(0, 1.5, n), y)
    cid = "hinge-binary-string-labels"
    r = rng(cid)
    y = np.array(["neg", "pos"])[r.integers(0, 2, 10)]
    y[:2] = ["neg", "pos"]
    hinge_case(cid, r.normal(0, 1.5, 10), y)  # sorted: "pos" > "neg" -> "pos" is +1
    for n, c in ((14, 3), (22, 4), (10, 5)):
        cid = f"hinge-multiclass-n{n}-c{c}"
        r = rng(cid)
        hinge_case(cid, r.normal(0, 1.5, (n, c)), r.integers(0, c, n), c)
    hinge_case(
        "hinge-multiclass-missing-classes",
        rng("hinge-mc-missing").normal(0, 1.5, (6, 4)),
        [0, 2, 2, 0, 3, 0],
        4,
    )
    cid = "hinge-binary-sum"
    r = rng(cid)
    hinge_case(cid, r.normal(0, 1.5, 11), r.integers(0, 2, 11), reduction="sum")
    cid = "hinge-multiclass-sum"
    r = rng(cid)
    hinge_case(cid, r.normal(0, 1.5, (11, 3)), r.integers(0, 3, 11), 3, reduction="sum")

    squared_hinge_case("ref-article-squared_hinge", ART_SCORES, ART_LABELS)
    for n, labs in ((20, (0, 1)), (15, (-1, 1))):
        cid = f"squared_hinge-binary-labels-{labs[0]}-{labs[1]}-n{n}"
        r = rng(cid)
        y = np.asarray(labs)[r.integers(0, 2, n)]
        y[:2] = labs
        squared_hinge_case(cid, r.normal(0, 1.5, n), y)
    for n, c in ((13, 3), (17, 4)):
        cid = f"squared_hinge-multiclass-n{n}-c{c}"
        r = rng(cid)
        squared_hinge_case(cid, r.normal(0, 1.5, (n, c)), r.integers(0, c, n))
    cid = "squared_hinge-binary-sum"
    r = rng(cid)
    squared_hinge_case(cid, r.normal(0, 1.5, 10), r.integers(0, 2, 10), reduction="sum")

    hinge_embedding_case("ref-article-hinge_embedding", ART_SCORES, [1, -1, 1])
    for m in (None, 1, 0.5, 2):
        for n in (16, 9):
            cid = f"hinge_embedding-margin-{m if m is not None else 'default'}-n{n}"
            r = rng(cid)
            x = r.normal(0.5, 1.5, n)
            hinge_embedding_case(cid, x, r.choice([-1, 1], n), m)
    cid = "hinge_embedding-sum"
    r = rng(cid)
    hinge_embedding_case(cid, r.normal(0.5, 1.5, 12), r.choice([-1, 1], 12), 1, reduction="sum")


# ------------------------------------------------------------------------------------------
# Issue 3: more regression losses
# ------------------------------------------------------------------------------------------


def log_cosh_case(id, p, y, *, reduction="mean"):
    """torch.log(torch.cosh(d)) where cosh is finite; else the stable float64 identity
    log cosh d = |d| + log1p(exp(-2|d|)) - log 2 (the form keras.losses.log_cosh uses)."""
    pa, ya = np.asarray(p, np.float64), np.asarray(y, np.float64)
    d = T(pa - ya)
    torch_val = torch.log(torch.cosh(d))
    # exact value: mpmath (a torch dependency) at 50 significant digits
    mpmath.mp.dps = 50
    exact = np.vectorize(lambda v: float(mpmath.log(mpmath.cosh(mpmath.mpf(float(v))))))(pa - ya)
    exact = exact if exact.ndim == 1 else exact.mean(1)
    if torch.isfinite(torch_val).all():
        per = per_row(torch_val).numpy()
        check(per, exact, tol=1e-12, what=id)
        ref = "hand (torch): torch.log(torch.cosh(p - y)), mean over outputs (== mpmath to 1e-12)"
    else:
        per = exact
        ref = (
            "mpmath.log(mpmath.cosh(p - y)) at 50 digits, rounded to float64 "
            "(torch.log(torch.cosh(d)) overflows to inf here)"
        )
    if keras is not None:
        # Keras 3 (torch backend) returns float64 here but only float32-accurate values (its
        # d + softplus(-2d) - log2 rounds log2 and intermediates to float32): a check, not the value
        p2, y2 = (pa[:, None], ya[:, None]) if pa.ndim == 1 else (pa, ya)
        check(keras.losses.log_cosh(T(y2), T(p2)).numpy(), per, tol=1e-6, what=id)
        ref += "; equals keras.losses.log_cosh(y, p) to float32 precision"
    val = per.sum() if reduction == "sum" else per.mean()
    add(
        id,
        "log_cosh",
        pa,
        ya,
        kind=None,
        expected=val,
        per_sample=per,
        reduction=reduction,
        reference=ref + ("; summed over samples" if reduction == "sum" else "; mean over samples"),
    )


def gen_regression_extra() -> None:
    for n in (12, 30):
        cid = f"log_cosh-random-n{n}"
        p, y = reg_data(rng(cid), (n,))
        log_cosh_case(cid, p, y)
    cid = "log_cosh-multioutput-n8-k3"
    p, y = reg_data(rng(cid), (8, 3))
    log_cosh_case(cid, p, y)
    cid = "log_cosh-sum"
    p, y = reg_data(rng(cid), (10,))
    log_cosh_case(cid, p, y, reduction="sum")
    log_cosh_case(
        "log_cosh-large-differences", [800.0, -800.0, 30.0, 0.0, 1e-8], [0.0, 0.0, -5.0, 0.0, 0.0]
    )

    for q in (0.1, 0.5, 0.9):
        for n in (15, 26):
            cid = f"quantile-q-{q}-n{n}"
            p, y = reg_data(rng(cid), (n,))
            add(
                cid,
                f"quantile:q={q}",
                p,
                y,
                kind=None,
                expected=skm.mean_pinball_loss(y, p, alpha=q),
                reference=f"sklearn.metrics.mean_pinball_loss(y, p, alpha={q})",
            )
    cid = "quantile-q-0.9-multioutput-n10-k2"
    p, y = reg_data(rng(cid), (10, 2))
    add(
        cid,
        "quantile:q=0.9",
        p,
        y,
        kind=None,
        expected=skm.mean_pinball_loss(y, p, alpha=0.9),
        reference="sklearn.metrics.mean_pinball_loss(y, p, alpha=0.9)  # uniform_average over k",
    )

    for n in (14, 27):
        cid = f"msle-random-n{n}"
        r = rng(cid)
        y = r.uniform(0, 10, n)
        p = np.clip(y + r.normal(0, 2, n), 0, None)
        add(
            cid,
            "msle",
            p,
            y,
            kind=None,
            expected=skm.mean_squared_log_error(y, p),
            reference="sklearn.metrics.mean_squared_log_error(y, p)",
        )
    cid = "msle-multioutput-n9-k3"
    r = rng(cid)
    y = r.uniform(0, 5, (9, 3))
    p = np.clip(y + r.normal(0, 1, (9, 3)), 0, None)
    add(
        cid,
        "msle",
        p,
        y,
        kind=None,
        expected=skm.mean_squared_log_error(y, p),
        reference="sklearn.metrics.mean_squared_log_error(y, p)",
    )

    for n in (13, 24):
        cid = f"mape-random-n{n}"
        r = rng(cid)
        y = r.choice([-1, 1], n) * r.uniform(0.5, 20, n)
        p = y + r.normal(0, 2, n)
        add(
            cid,
            "mape",
            p,
            y,
            kind=None,
            expected=skm.mean_absolute_percentage_error(y, p),
            reference="sklearn.metrics.mean_absolute_percentage_error(y, p)",
        )
    add(
        "mape-zero-label",
        "mape",
        [0.5, 1.0, 2.0],
        [0.0, 1.0, 4.0],
        kind=None,
        expected=skm.mean_absolute_percentage_error([0.0, 1.0, 4.0], [0.5, 1.0, 2.0]),
        reference="sklearn.metrics.mean_absolute_percentage_error(y, p)  # |y|=0 -> divides by "
        "float64 eps: huge value",
    )

    # reduction sum: scikit-learn has only means, so sum = (number of elements) * its mean,
    # cross-checked against the elementwise formula summed
    cid = "quantile-q-0.3-sum"
    p, y = reg_data(rng(cid), (12,))
    val = y.size * skm.mean_pinball_loss(y, p, alpha=0.3)
    check(val, np.maximum(0.3 * (y - p), (0.3 - 1) * (y - p)).sum(), what=cid)
    add(
        cid,
        "quantile:q=0.3",
        p,
        y,
        kind=None,
        expected=val,
        reduction="sum",
        reference="y.size * sklearn.metrics.mean_pinball_loss(y, p, alpha=0.3)",
    )
    cid = "msle-sum"
    r = rng(cid)
    y = r.uniform(0, 10, 11)
    p = np.clip(y + r.normal(0, 2, 11), 0, None)
    val = y.size * skm.mean_squared_log_error(y, p)
    check(val, ((np.log1p(p) - np.log1p(y)) ** 2).sum(), what=cid)
    add(
        cid,
        "msle",
        p,
        y,
        kind=None,
        expected=val,
        reduction="sum",
        reference="y.size * sklearn.metrics.mean_squared_log_error(y, p)",
    )
    cid = "mape-sum"
    r = rng(cid)
    y = r.choice([-1, 1], 10) * r.uniform(0.5, 20, 10)
    p = y + r.normal(0, 2, 10)
    val = y.size * skm.mean_absolute_percentage_error(y, p)
    check(val, (np.abs(y - p) / np.abs(y)).sum(), what=cid)
    add(
        cid,
        "mape",
        p,
        y,
        kind=None,
        expected=val,
        reduction="sum",
        reference="y.size * sklearn.metrics.mean_absolute_percentage_error(y, p)",
    )

    # poisson_nll
    def poisson(cid, log_input, full, eps=None, reduction="mean", n=15, zero_rate=False):
        r = rng(cid)
        y = r.poisson(3.0, n).astype(np.float64)
        y[0] = 0.0
        y[1] = 1.0
        x = r.normal(1.0, 0.8, n) if log_input else r.uniform(0.2, 6.0, n)
        if zero_rate:
            x[2] = 0.0
        kw = {"log_input": log_input, "full": full}
        if eps is not None:
            kw["eps"] = eps
        val = F.poisson_nll_loss(T(x), T(y), reduction=reduction, **kw)
        none = F.poisson_nll_loss(T(x), T(y), reduction="none", **kw)
        spec = f"poisson_nll:log_input={str(log_input).lower()},full={str(full).lower()}"
        if eps is not None:
            spec += f",eps={eps}"
        args = ", ".join(f"{k}={v}" for k, v in kw.items())
        red = "" if reduction == "mean" else f", reduction='{reduction}'"
        add(
            cid,
            spec,
            x,
            y,
            kind=None,
            expected=val,
            per_sample=none,
            reduction=reduction,
            reference=f"torch.nn.functional.poisson_nll_loss(x, y, {args}{red})",
        )

    for li in (True, False):
        for full in (False, True):
            poisson(f"poisson_nll-log_input-{li}-full-{full}", li, full)
    poisson(
        "poisson_nll-log_input-false-eps-1e-3-zero-rate", False, False, eps=1e-3, zero_rate=True
    )
    poisson("poisson_nll-log_input-false-full-true-zero-rate", False, True, zero_rate=True)
    poisson("poisson_nll-sum", True, True, reduction="sum")
    cid = "poisson_nll-default-spec"
    r = rng(cid)
    x, y = r.normal(1.0, 0.8, 12), r.poisson(2.0, 12).astype(np.float64)
    add(
        cid,
        "poisson_nll",
        x,
        y,
        kind=None,
        expected=F.poisson_nll_loss(T(x), T(y)),
        per_sample=F.poisson_nll_loss(T(x), T(y), reduction="none"),
        reference="torch.nn.functional.poisson_nll_loss(x, y)  # log_input=True, full=False, eps=1e-8",
    )

    # gaussian_nll: preds (n, 2) = [mean, variance]
    def gaussian(cid, full=None, eps=None, reduction="mean", n=14, tiny_var=False):
        r = rng(cid)
        mu = r.normal(0, 2, n)
        var = r.uniform(0.1, 3.0, n)
        if tiny_var:
            var[:3] = [1e-9, 0.0, 1e-7]
        y = mu + r.normal(0, 1.5, n)
        kw = {}
        if full is not None:
            kw["full"] = full
        if eps is not None:
            kw["eps"] = eps
        val = F.gaussian_nll_loss(T(mu), T(y), T(var), reduction=reduction, **kw)
        none = F.gaussian_nll_loss(T(mu), T(y), T(var), reduction="none", **kw)
        spec = "gaussian_nll" + (
            ":" + ",".join(f"{k}={str(v).lower()}" for k, v in kw.items()) if kw else ""
        )
        args = "".join(f", {k}={v}" for k, v in kw.items())
        red = "" if reduction == "mean" else f", reduction='{reduction}'"
        add(
            cid,
            spec,
            np.stack([mu, var], axis=1),
            y,
            kind=None,
            expected=val,
            per_sample=none,
            reduction=reduction,
            reference=f"torch.nn.functional.gaussian_nll_loss(preds[:, 0], y, preds[:, 1]{args}{red})",
        )

    gaussian("gaussian_nll-default")
    gaussian("gaussian_nll-full-true", full=True)
    gaussian("gaussian_nll-full-false", full=False, n=21)
    gaussian("gaussian_nll-tiny-variance-eps-default", tiny_var=True)
    gaussian("gaussian_nll-tiny-variance-eps-1e-3", eps=1e-3, tiny_var=True)
    gaussian("gaussian_nll-sum", full=True, reduction="sum")


# ------------------------------------------------------------------------------------------
# Issue 3: more classification losses
# ------------------------------------------------------------------------------------------


def torchvision_sigmoid_focal_loss(inputs, targets, alpha=0.25, gamma=2.0, reduction="none"):
    """Verbatim logic of torchvision.ops.sigmoid_focal_loss (torchvision 0.28,
    torchvision/ops/focal_loss.py; originally fvcore/nn/focal_loss.py). torchvision is not
    importable next to the CPU torch wheel here, so its formula is copied."""
    p = torch.sigmoid(inputs)
    ce_loss = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce_loss * ((1 - p_t) ** gamma)
    if alpha >= 0:
        alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
        loss = alpha_t * loss
    if reduction == "mean":
        loss = loss.mean()
    elif reduction == "sum":
        loss = loss.sum()
    return loss


def gen_classification_extra() -> None:
    # nll: preds are log-probabilities
    def nll(cid, n, c, weight=None, ignore_index=None, reduction="mean"):
        r = rng(cid)
        lp = torch.log_softmax(T(r.normal(0, 2, (n, c))), dim=1)
        y = r.integers(0, c, n)
        kw, parts, args = {}, [], ""
        if weight is not None:
            kw["weight"] = T(weight)
            parts.append(
                "weight=[" + ",".join(repr(float(w)).removesuffix(".0") for w in weight) + "]"
            )
            args += f", weight=torch.tensor({[float(w) for w in weight]})"
        if ignore_index is not None:
            y[[0, 3]] = ignore_index
            kw["ignore_index"] = ignore_index
            parts.append(f"ignore_index={ignore_index}")
            args += f", ignore_index={ignore_index}"
        if reduction != "mean":
            args += f", reduction='{reduction}'"
        val = F.nll_loss(lp, TI(y), reduction=reduction, **kw)
        none = F.nll_loss(lp, TI(y), reduction="none", **kw)
        add(
            cid,
            "nll" + (":" + ",".join(parts) if parts else ""),
            lp,
            y,
            kind=None,
            expected=val,
            per_sample=none,
            reduction=reduction,
            reference=f"torch.nn.functional.nll_loss(logp, y{args}); logp = log_softmax(z)",
        )

    nll("nll-plain-n14-c4", 14, 4)
    nll("nll-plain-n25-c3", 25, 3)
    nll("nll-weight-c3", 16, 3, weight=[1, 2, 0.5])
    nll("nll-ignore_index-1", 12, 4, ignore_index=1)
    nll("nll-default-ignore-minus100", 12, 4, ignore_index=-100)
    nll("nll-weight-ignore_index-2", 15, 3, weight=[0.5, 1.5, 1], ignore_index=2)
    nll("nll-sum", 10, 4, reduction="sum")

    # binary sigmoid focal (torchvision semantics)
    def focal_bin(cid, alpha=None, gamma=None, reduction="mean", n=18, soft=False):
        r = rng(cid)
        x = r.normal(0, 2.5, n)
        y = np.round(r.uniform(0, 1, n), 3) if soft else r.integers(0, 2, n)
        a = 0.25 if alpha is None else alpha
        g = 2.0 if gamma is None else gamma
        val = torchvision_sigmoid_focal_loss(T(x), T(y), a, g, reduction)
        none = torchvision_sigmoid_focal_loss(T(x), T(y), a, g, "none")
        if g == 0 and a < 0:
            check(
                val, F.binary_cross_entropy_with_logits(T(x), T(y), reduction=reduction), what=cid
            )
        parts = ([f"alpha={alpha}"] if alpha is not None else []) + (
            [f"gamma={gamma}"] if gamma is not None else []
        )
        add(
            cid,
            "focal" + (":" + ",".join(parts) if parts else ""),
            x,
            y,
            kind="logits",
            expected=val,
            per_sample=none,
            reduction=reduction,
            reference=f"hand: torchvision.ops.sigmoid_focal_loss(x, y, alpha={a}, gamma={g}, "
            f"reduction='{reduction}') — formula copied from torchvision 0.28 ops/focal_loss.py",
        )

    focal_bin("focal-binary-default")
    focal_bin("focal-binary-default-n31", n=31)
    focal_bin("focal-binary-alpha-0.25-gamma-2", alpha=0.25, gamma=2)
    focal_bin("focal-binary-alpha-minus1", alpha=-1)
    focal_bin("focal-binary-alpha-0.5-gamma-1", alpha=0.5, gamma=1)
    focal_bin("focal-binary-gamma-0", gamma=0)
    focal_bin("focal-binary-alpha-minus1-gamma-0", alpha=-1, gamma=0)
    focal_bin("focal-binary-alpha-0.75-gamma-3", alpha=0.75, gamma=3)
    focal_bin("focal-binary-sum", reduction="sum")

    # multiclass softmax focal: -(1 - p_y)^gamma log p_y
    def focal_mc(cid, gamma=None, n=16, c=4, reduction="mean"):
        r = rng(cid)
        x = r.normal(0, 2, (n, c))
        y = r.integers(0, c, n)
        g = 2.0 if gamma is None else gamma
        logp = torch.log_softmax(T(x), dim=1)[torch.arange(n), TI(y)]
        per = -((1 - torch.exp(logp)) ** g) * logp
        if g == 0:
            check(per, F.cross_entropy(T(x), TI(y), reduction="none"), what=cid)
        val = per.sum() if reduction == "sum" else per.mean()
        add(
            cid,
            "focal" + ("" if gamma is None else f":gamma={gamma}"),
            x,
            y,
            kind="logits",
            expected=val,
            per_sample=per,
            reduction=reduction,
            reference=f"hand (torch): logp = log_softmax(x)[i, y_i]; -(1 - exp(logp))**{g} * logp; "
            f"{reduction} over samples",
        )

    focal_mc("focal-multiclass-default")
    focal_mc("focal-multiclass-gamma-2", gamma=2, n=23, c=3)
    focal_mc("focal-multiclass-gamma-0", gamma=0, c=5)
    focal_mc("focal-multiclass-gamma-1", gamma=1)
    focal_mc("focal-multiclass-gamma-0.5", gamma=0.5, c=3)
    focal_mc("focal-multiclass-sum", gamma=2, reduction="sum")

    # multi_margin
    def mm(cid, p=None, margin=None, weight=None, n=15, c=4, reduction="mean"):
        r = rng(cid)
        x = r.normal(0, 1.5, (n, c))
        y = r.integers(0, c, n)
        kw, parts = {}, []
        if p is not None:
            kw["p"] = p
            parts.append(f"p={p}")
        if margin is not None:
            kw["margin"] = margin
            parts.append(f"margin={margin}")
        if weight is not None:
            kw["weight"] = T(weight)
            parts.append(
                "weight=[" + ",".join(repr(float(w)).removesuffix(".0") for w in weight) + "]"
            )
        val = F.multi_margin_loss(T(x), TI(y), reduction=reduction, **kw)
        none = F.multi_margin_loss(T(x), TI(y), reduction="none", **kw)
        args = "".join(
            f", {k}={v if k != 'weight' else 'torch.tensor(' + str([float(w) for w in weight]) + ')'}"
            for k, v in kw.items()
        )
        red = "" if reduction == "mean" else f", reduction='{reduction}'"
        add(
            cid,
            "multi_margin" + (":" + ",".join(parts) if parts else ""),
            x,
            y,
            kind=None,
            expected=val,
            per_sample=none,
            reduction=reduction,
            reference=f"torch.nn.functional.multi_margin_loss(x, y{args}{red})",
        )

    mm("multi_margin-default")
    mm("multi_margin-default-n24-c3", n=24, c=3)
    mm("multi_margin-p-2", p=2)
    mm("multi_margin-margin-0.5", margin=0.5)
    mm("multi_margin-margin-2", margin=2, c=5)
    mm("multi_margin-p-2-margin-2", p=2, margin=2)
    mm("multi_margin-weight", weight=[1, 2, 0.5, 1.5])
    mm("multi_margin-weight-p-2", p=2, weight=[0.5, 1, 3], c=3)
    mm("multi_margin-sum", reduction="sum")

    # categorical_hinge (Keras)
    def cat_hinge(cid, n=14, c=4, reduction="mean"):
        r = rng(cid)
        s = r.normal(0, 1.5, (n, c))
        y = r.integers(0, c, n)
        oh = one_hot(y, c)
        pos = (oh * s).sum(1)
        neg = ((1 - oh) * s).max(1)
        hand = np.maximum(0.0, neg - pos + 1.0)
        per = hand
        ref = (
            "hand: numpy float64 max(0, max((1-y)*s) - sum(y*s) + 1), y = one_hot (the formula "
            "of keras.losses.categorical_hinge)"
        )
        if keras is not None:
            # Keras 3 computes this in float32 even for float64 inputs (see squared_hinge)
            check(keras.losses.categorical_hinge(T(oh), T(s)).numpy(), hand, tol=1e-6, what=cid)
            ref += "; equals keras.losses.categorical_hinge(one_hot(y), s) to float32 precision"
        add(
            cid,
            "categorical_hinge",
            s,
            y,
            kind=None,
            expected=per.sum() if reduction == "sum" else per.mean(),
            per_sample=per,
            reduction=reduction,
            reference=ref + ("; summed" if reduction == "sum" else "; mean"),
        )

    cat_hinge("categorical_hinge-n14-c4")
    cat_hinge("categorical_hinge-n20-c3", n=20, c=3)
    cat_hinge("categorical_hinge-n9-c5", n=9, c=5)
    cat_hinge("categorical_hinge-sum", n=10, c=3, reduction="sum")
    # note: with all scores negative, (1-y)*s puts a 0 at the true class, so neg = 0 (Keras quirk)
    s = -np.abs(rng("categorical_hinge-negative").normal(1, 1, (5, 3)))
    y = np.array([0, 1, 2, 0, 1])
    per = np.maximum(0.0, ((1 - one_hot(y, 3)) * s).max(1) - (one_hot(y, 3) * s).sum(1) + 1.0)
    if keras is not None:
        check(
            keras.losses.categorical_hinge(T(one_hot(y, 3)), T(s)).numpy(),
            per,
            tol=1e-6,
            what="categorical_hinge-all-negative-scores",
        )
    add(
        "categorical_hinge-all-negative-scores",
        "categorical_hinge",
        s,
        y,
        kind=None,
        expected=per.mean(),
        per_sample=per,
        reference="hand: numpy float64 formula of keras.losses.categorical_hinge(one_hot(y), s) "
        "(checked against Keras to float32 precision); all scores < 0, so "
        "neg = max((1-y)*s) = 0 from the true class's zeroed entry",
    )

    # Jensen–Shannon
    def js(cid, base=None, n=12, c=4, reduction="mean"):
        r = rng(cid)
        q = softmax_np(r.normal(0, 1.5, (n, c)))
        q[1, 0] = 0.0
        q[1] /= q[1].sum()
        p = rand_dist(r, n, c)
        d = scipy.spatial.distance.jensenshannon(p, q, base=base, axis=1) ** 2
        m = 0.5 * (p + q)
        hand = 0.5 * (scipy.special.rel_entr(p, m).sum(1) + scipy.special.rel_entr(q, m).sum(1))
        if base is not None:
            hand = hand / np.log(base)
        check(d, hand, tol=1e-10, what=cid)
        add(
            cid,
            "js" if base is None else f"js:base={base}",
            q,
            p,
            kind="probs",
            expected=d.sum() if reduction == "sum" else d.mean(),
            per_sample=d,
            reduction=reduction,
            reference=f"{reduction} over rows of scipy.spatial.distance.jensenshannon(p, q, "
            f"base={base}, axis=1)**2",
        )

    js("js-base-e")
    js("js-base-e-n20-c3", n=20, c=3)
    js("js-base-2", base=2)
    js("js-base-2-n8-c5", base=2, n=8, c=5)
    js("js-base-2-sum", base=2, n=9, c=3, reduction="sum")

    # entropy of the predicted rows
    for n, c in ((10, 4), (17, 3)):
        cid = f"entropy-n{n}-c{c}"
        r = rng(cid)
        q = softmax_np(r.normal(0, 1.5, (n, c)))
        q[2] = 0.0
        q[2, 1] = 1.0  # entropy 0
        q[3, 0] = 0.0
        q[3] /= q[3].sum()
        h = scipy.stats.entropy(q, axis=1)
        add(
            cid,
            "entropy",
            q,
            r.integers(0, c, n),
            kind="probs",
            expected=h.mean(),
            per_sample=h,
            reference="mean over rows of scipy.stats.entropy(q, axis=1); labels unused",
        )
    cid = "entropy-logits-sum"
    r = rng(cid)
    x = r.normal(0, 2, (11, 4))
    h = scipy.stats.entropy(softmax_np(x), axis=1)
    add(
        cid,
        "entropy",
        x,
        r.integers(0, 4, 11),
        kind="logits",
        expected=h.sum(),
        per_sample=h,
        reduction="sum",
        reference="sum over rows of scipy.stats.entropy(torch.softmax(x, dim=1), axis=1); "
        "labels unused",
    )


# ------------------------------------------------------------------------------------------
# dense segmentation CE, dice
# ------------------------------------------------------------------------------------------


def gen_dense() -> None:
    def seg(cid, n=2, c=3, h=4, w=5, weight=None, ignore=False):
        r = rng(cid)
        x = r.normal(0, 2, (n, c, h, w))
        y = r.integers(0, c, (n, h, w))
        if ignore:
            m = r.random((n, h, w)) < 0.2
            m[:, 0, 0] = True
            y[m] = 255
        kw, args = {}, ""
        if ignore:
            kw["ignore_index"] = 255
            args += ", ignore_index=255"
        if weight is not None:
            kw["weight"] = T(weight)
            args += f", weight=torch.tensor({[float(v) for v in weight]})"
        xt, yt = T(x), TI(y)
        val = F.cross_entropy(xt, yt, **kw)
        none = F.cross_entropy(xt, yt, reduction="none", **kw)  # (N, H, W), w[y]*nll, 0 if ignored
        wv = T(weight) if weight is not None else torch.ones(c, dtype=F64)
        kept = yt != 255
        wpix = torch.where(kept, wv[torch.where(kept, yt, 0)], torch.zeros((), dtype=F64))
        per = none.reshape(n, -1).sum(1) / wpix.reshape(n, -1).sum(1)
        check(val, none.sum() / wpix.sum(), what=cid)
        add(
            cid,
            ce_spec(0.0, weight, 255 if ignore else None),
            x,
            y,
            kind="logits",
            expected=val,
            per_sample=per,
            reference=f"torch.nn.functional.cross_entropy(x (N,C,H,W), y (N,H,W){args}); "
            "per_sample = per image sum(none)/sum(w[y] over counted pixels)",
        )

    seg("ce-dense-plain")
    seg("ce-dense-plain-n3-c4", n=3, c=4, h=3, w=3)
    seg("ce-dense-ignore_index-255", ignore=True)
    seg("ce-dense-weight", weight=[1, 2, 0.5])
    seg("ce-dense-weight-ignore_index-255", weight=[0.5, 1, 2, 1.5], c=4, ignore=True)

    def dice(cid, smooth, kind="logits", n=2, c=3, h=4, w=4, reduction="mean"):
        r = rng(cid)
        x = r.normal(0, 2, (n, c, h, w))
        y = r.integers(0, c, (n, h, w))
        if n > 1:
            y[1][y[1] == c - 1] = 0  # one class absent from the second image
        pr = torch.softmax(T(x), dim=1)
        preds = x if kind == "logits" else pr.numpy()
        g = F.one_hot(TI(y), c).permute(0, 3, 1, 2).to(F64)
        inter = (pr * g).sum((2, 3))
        den = pr.sum((2, 3)) + g.sum((2, 3))
        per = 1 - ((2 * inter + smooth) / (den + smooth)).mean(1)
        add(
            cid,
            f"dice:smooth={smooth}",
            preds,
            y,
            kind=kind,
            expected=per.sum() if reduction == "sum" else per.mean(),
            per_sample=per,
            reduction=reduction,
            reference="hand (torch): p = softmax(x, dim=1) (or the given probabilities), g = one_hot(y); "
            "per sample and class dice = (2*sum_hw(p*g) + smooth)/(sum_hw(p) + sum_hw(g) + smooth); "
            f"sample loss = 1 - mean over classes; {reduction} over samples; smooth={smooth}",
        )

    dice("dice-smooth-1-logits", 1)
    dice("dice-smooth-0-logits", 0)
    dice("dice-smooth-1-probs", 1, kind="probs", n=3, c=4, h=3, w=5)
    dice("dice-smooth-1-logits-sum", 1, n=3, c=3, h=3, w=4, reduction="sum")


# ------------------------------------------------------------------------------------------
# Convention cases (issue 3)
# ------------------------------------------------------------------------------------------


def gen_conventions() -> None:
    # torch KLDivLoss() default reduction='mean' divides by N*C
    kl_case("ref-kl-torch-mean", REF_KL_Q, REF_KL_P, convention="torch")
    cid = "kl-probs-torch-mean"
    r = rng(cid)
    kl_case(cid, softmax_np(r.normal(0, 1.5, (10, 4))), rand_dist(r, 10, 4), convention="torch")
    cid = "kl-logits-torch-mean"
    r = rng(cid)
    kl_case(cid, r.normal(0, 2, (7, 3)), rand_dist(r, 7, 3), kind="logits", convention="torch")

    # Keras KLDivergence: p and q clipped to [1e-7, 1] before sum p log(p / q)
    cid = "kl-probs-zeros-keras"
    r = rng(cid)
    q = softmax_np(r.normal(0, 1.5, (9, 4)))
    q[0, 1] = 0.0  # a zero prediction where p > 0: inf in KL, finite after Keras' clip
    q[0] /= q[0].sum()
    p = rand_dist(r, 9, 4)
    p[0, 1] = max(p[0, 1], 0.2)
    p[0] /= p[0].sum()
    pc, qc = np.clip(p, KERAS_EPS, 1.0), np.clip(q, KERAS_EPS, 1.0)
    kper = (pc * np.log(pc / qc)).sum(1)
    kref = (
        "hand: numpy float64 sum(clip(p, 1e-7, 1) * log(clip(p, 1e-7, 1) / clip(q, 1e-7, 1))), "
        "the formula of keras.losses.kl_divergence"
    )
    if keras is not None:
        check(keras.losses.kl_divergence(T(p), T(q)).numpy(), kper, tol=1e-5, what=cid)
        kref += "; equals keras.losses.kl_divergence(p, q) to float32 precision"
    add(
        cid,
        "kl",
        q,
        p,
        kind="probs",
        convention="keras",
        expected=kper.mean(),
        per_sample=kper,
        reference=kref + "; mean over samples",
    )

    # BCE on probabilities with exact 0 / 1
    def bce_edges(cid):
        r = rng(cid)
        p = r.uniform(0.05, 0.95, 12)
        y = r.integers(0, 2, 12).astype(np.float64)
        p[:4] = [0.0, 1.0, 1.0, 0.0]
        y[:4] = [1.0, 0.0, 1.0, 0.0]  # two certain-and-wrong, two certain-and-right
        return p, y

    cid = "bce-probs-zero-one"
    p, y = bce_edges(cid)
    none = F.binary_cross_entropy(T(p), T(y), reduction="none")
    add(
        cid + "-torch",
        "bce",
        p,
        y,
        kind="probs",
        convention="torch",
        expected=F.binary_cross_entropy(T(p), T(y)),
        per_sample=none,
        reference="torch.nn.functional.binary_cross_entropy(p, y)  # log clamped at -100",
    )
    add(
        cid + "-sklearn",
        "bce",
        p,
        y,
        kind="probs",
        convention="sklearn",
        expected=skm.log_loss(y, p, labels=[0, 1]),
        reference="sklearn.metrics.log_loss(y, p, labels=[0, 1])  # p clipped to [eps, 1-eps]",
    )
    add(
        cid + "-default",
        "bce",
        p,
        y,
        kind="probs",
        convention=None,
        expected=skm.log_loss(y, p, labels=[0, 1]),
        reference="sklearn.metrics.log_loss(y, p, labels=[0, 1])  # losscli default = sklearn clip",
    )
    pc = np.clip(p, KERAS_EPS, 1 - KERAS_EPS)
    kper = -(y * np.log(pc) + (1 - y) * np.log(1 - pc))
    kref = (
        "hand: numpy float64 BCE on clip(p, 1e-7, 1-1e-7), the formula of "
        "keras.losses.binary_crossentropy (keras/src/backend/torch/nn.py)"
    )
    if keras is not None:
        # Keras 3 returns float32-accurate values here even for float64 inputs: a check only
        check(
            keras.losses.binary_crossentropy(T(y[:, None]), T(p[:, None])).numpy(),
            kper,
            tol=1e-6,
            what=cid + "-keras",
        )
        kref += (
            "; equals keras.losses.binary_crossentropy(y[:, None], p[:, None]) to float32 precision"
        )
    add(
        cid + "-keras",
        "bce",
        p,
        y,
        kind="probs",
        convention="keras",
        expected=kper.mean(),
        per_sample=kper,
        reference=kref + "; mean; clip at 1e-7",
    )
    cid = "bce-probs-zero-one-sum-torch"
    p, y = bce_edges(cid)
    add(
        cid,
        "bce",
        p,
        y,
        kind="probs",
        convention="torch",
        reduction="sum",
        expected=F.binary_cross_entropy(T(p), T(y), reduction="sum"),
        per_sample=F.binary_cross_entropy(T(p), T(y), reduction="none"),
        reference="torch.nn.functional.binary_cross_entropy(p, y, reduction='sum')  # log clamp -100",
    )

    # ce on probabilities under torch's convention: one column is binary_cross_entropy;
    # torch has no multiclass loss on probabilities, so losscli applies BCELoss's log clamp.
    cid = "ce-binary-probs-zero-one-torch"
    p, y = bce_edges(cid)
    add(
        cid,
        "ce",
        p,
        y,
        kind="probs",
        convention="torch",
        expected=F.binary_cross_entropy(T(p), T(y)),
        per_sample=F.binary_cross_entropy(T(p), T(y), reduction="none"),
        reference="torch.nn.functional.binary_cross_entropy(p, y)  # log clamped at -100",
    )
    cid = "ce-probs-zeros-torch"
    r = rng(cid)
    y = r.integers(0, 4, 11)
    p = softmax_np(r.normal(0, 2, (11, 4)))
    p[0] = 0.0
    p[0, (y[0] + 2) % 4] = 1.0  # certain and wrong: log 0 clamped to -100
    logp = torch.log(T(p)).clamp(min=-100)
    add(
        cid,
        "ce",
        p,
        y,
        kind="probs",
        convention="torch",
        expected=F.nll_loss(logp, TI(y)),
        per_sample=F.nll_loss(logp, TI(y), reduction="none"),
        reference="torch.nn.functional.nll_loss(torch.log(P).clamp(min=-100), y)  "
        "# BCELoss's clamp on multiclass probabilities",
    )

    # sklearn log_loss with probability zeros
    cid = "ce-probs-zeros-sklearn"
    r = rng(cid)
    y = r.integers(0, 4, 11)
    p = softmax_np(r.normal(0, 2, (11, 4)))
    p[0] = 0.0
    p[0, (y[0] + 2) % 4] = 1.0  # certain and wrong
    p[1] = 0.0
    p[1, y[1]] = 1.0  # certain and right
    p[2, y[2]] = 0.0  # zero on true class, rest renormalised
    p[2] /= p[2].sum()
    ce_probs_case(cid, p, y, 4, convention="sklearn")
    cid = "ce-binary-probs-zeros-sklearn"
    r = rng(cid)
    pb = r.uniform(0.05, 0.95, 9)
    yb = r.integers(0, 2, 9)
    pb[:3] = [0.0, 1.0, 1.0]
    yb[:3] = [1, 0, 1]
    ce_probs_case(cid, pb, yb, 2, convention="sklearn")
    # sklearn >= 1.7 does not renormalise rows that do not sum to 1 (it only warns)
    cid = "ce-probs-unnormalised-sklearn"
    r = rng(cid)
    y = r.integers(0, 3, 8)
    p = r.uniform(0.05, 1.0, (8, 3))
    ce_probs_case(cid, p, y, 3, convention="sklearn")

    # Keras categorical_crossentropy: renormalises rows, clips at 1e-7
    def keras_cce(cid, p, y, c):
        oh = one_hot(np.asarray(y), c)
        if keras is not None:
            per = keras.losses.categorical_crossentropy(T(oh), T(p)).numpy()
            ref = "keras.losses.categorical_crossentropy(one_hot(y), P) (Keras 3 torch backend)"
        else:
            q = np.clip(p / p.sum(1, keepdims=True), KERAS_EPS, 1 - KERAS_EPS)
            per = -(oh * np.log(q)).sum(1)
            ref = (
                "hand: numpy -sum(y*log(clip(P/P.sum(1), 1e-7, 1-1e-7))) "
                "(keras backend/torch/nn.py categorical_crossentropy)"
            )
        q = np.clip(p / p.sum(1, keepdims=True), KERAS_EPS, 1 - KERAS_EPS)
        check(per, -(oh * np.log(q)).sum(1), what=cid)
        add(
            cid,
            "ce",
            p,
            y,
            kind="probs",
            convention="keras",
            expected=per.mean(),
            per_sample=per,
            reference=ref + "; mean over samples; rows renormalised, clipped to [1e-7, 1-1e-7]",
        )

    cid = "ce-probs-unnormalised-keras"
    r = rng(cid)
    keras_cce(cid, r.uniform(0.05, 1.0, (10, 4)), r.integers(0, 4, 10), 4)
    cid = "ce-probs-zeros-keras"
    r = rng(cid)
    y = r.integers(0, 3, 9)
    p = r.uniform(0.05, 1.0, (9, 3))
    p[0] = 0.0
    p[0, (y[0] + 1) % 3] = 0.7  # zero on the true class -> -log(1e-7) = 16.118
    p[1] = 0.0
    p[1, y[1]] = 2.0  # one positive entry: renormalised to 1 -> clipped to 1-1e-7
    keras_cce(cid, p, y, 3)
    cid = "ce-probs-normalised-keras"
    r = rng(cid)
    keras_cce(cid, softmax_np(r.normal(0, 2, (12, 4))), r.integers(0, 4, 12), 4)


# ------------------------------------------------------------------------------------------
# issue 14: the rest of the catalogue (Brier, Tweedie deviances, RMSLE, margin losses, options)
# ------------------------------------------------------------------------------------------


def gen_brier() -> None:
    """sklearn brier_score_loss: binary (with its pos_label rule), multiclass, scale_by_half."""
    for n in (12, 25):
        cid = f"brier-binary-n{n}"
        r = rng(cid)
        y, p = r.integers(0, 2, n), r.uniform(0, 1, n)
        val = skm.brier_score_loss(y, p)
        check(val, F.mse_loss(T(p), T(y)).item(), what=cid)  # binary Brier is the MSE
        add(
            cid,
            "brier",
            p,
            y,
            kind="probs",
            expected=val,
            per_sample=(p - y) ** 2,
            reference="sklearn.metrics.brier_score_loss(y, p); per_sample (p - y)**2",
        )
    cid = "brier-binary-unscaled"
    r = rng(cid)
    y, p = r.integers(0, 2, 14), r.uniform(0, 1, 14)
    add(
        cid,
        "brier:scale_by_half=false",
        p,
        y,
        kind="probs",
        expected=skm.brier_score_loss(y, p, scale_by_half=False),
        reference="sklearn.metrics.brier_score_loss(y, p, scale_by_half=False)",
    )
    # pos_label: sklearn's default is 1 for {0, 1} and {-1, 1}, else the greater label; text
    # labels need it explicitly (losscli takes the larger in sorted order: given here).
    for cid, values, pos in (
        ("brier-binary-pm1", (-1, 1), None),
        ("brier-binary-2-5", (2, 5), None),
        ("brier-binary-text", ("cat", "dog"), "dog"),
    ):
        r = rng(cid)
        y = np.asarray(values)[r.integers(0, 2, 13)]
        p = r.uniform(0, 1, 13)
        call = "" if pos is None else f", pos_label={pos!r}"
        add(
            cid,
            "brier",
            p,
            y,
            kind="probs",
            expected=skm.brier_score_loss(y, p, pos_label=pos),
            reference=f"sklearn.metrics.brier_score_loss(y, p{call})",
        )
    cid = "brier-binary-logits"
    r = rng(cid)
    y, x = r.integers(0, 2, 15), r.normal(0, 2, 15)
    add(
        cid,
        "brier",
        x,
        y,
        kind="logits",
        expected=skm.brier_score_loss(y, torch.sigmoid(T(x)).numpy()),
        reference="sklearn.metrics.brier_score_loss(y, torch.sigmoid(x))",
    )
    for c, n in ((2, 11), (3, 16), (5, 20)):
        cid = f"brier-multiclass-c{c}-n{n}"
        r = rng(cid)
        y, p = r.integers(0, c, n), softmax_np(r.normal(0, 1.5, (n, c)))
        val = skm.brier_score_loss(y, p, labels=list(range(c)))
        per = ((p - one_hot(y, c)) ** 2).sum(1) * (0.5 if c < 3 else 1.0)
        check(val, per.mean(), what=cid)
        add(
            cid,
            "brier",
            p,
            y,
            kind="probs",
            expected=val,
            per_sample=per,
            reference=f"sklearn.metrics.brier_score_loss(y, P, labels=range({c})); per_sample "
            "sum_c (P - onehot)**2 (halved for C < 3, scale_by_half='auto')",
        )
    cid = "brier-multiclass-halved"
    r = rng(cid)
    y, p = r.integers(0, 4, 14), softmax_np(r.normal(0, 1.5, (14, 4)))
    add(
        cid,
        "brier:scale_by_half=true",
        p,
        y,
        kind="probs",
        expected=skm.brier_score_loss(y, p, labels=list(range(4)), scale_by_half=True),
        reference="sklearn.metrics.brier_score_loss(y, P, labels=range(4), scale_by_half=True)",
    )
    cid = "brier-multiclass-logits"
    r = rng(cid)
    y, x = r.integers(0, 3, 12), r.normal(0, 2, (12, 3))
    add(
        cid,
        "brier",
        x,
        y,
        kind="logits",
        expected=skm.brier_score_loss(y, softmax_np(x), labels=[0, 1, 2]),
        reference="sklearn.metrics.brier_score_loss(y, torch.softmax(x, 1), labels=range(3))",
    )


def gen_deviances() -> None:
    """sklearn mean_tweedie_deviance / mean_poisson_deviance / mean_gamma_deviance and RMSLE."""
    for power in (-0.5, 0.0, 1.0, 1.5, 2.0, 3.0):
        cid = f"tweedie-power-{power}"
        r = rng(cid)
        if power < 0:
            y = r.normal(1.0, 2.0, 16)  # any real labels (negatives use max(y, 0))
        elif power == 0:
            y = r.normal(0.0, 2.0, 16)
        elif power < 2:
            y = r.poisson(2.0, 16).astype(np.float64)  # counts, zeros included
        else:
            y = r.gamma(2.0, 1.5, 16)
        p = r.gamma(2.0, 1.5, 16) + 0.05
        if power == 0:
            p = y + r.normal(0, 1.5, 16)
        add(
            cid,
            f"tweedie:power={power}",
            p,
            y,
            kind=None,
            expected=skm.mean_tweedie_deviance(y, p, power=power),
            reference=f"sklearn.metrics.mean_tweedie_deviance(y, p, power={power})",
        )
    cid = "poisson_deviance-n18"
    r = rng(cid)
    y, p = r.poisson(3.0, 18).astype(np.float64), r.gamma(3.0, 1.0, 18) + 0.01
    val = skm.mean_poisson_deviance(y, p)
    check(val, skm.mean_tweedie_deviance(y, p, power=1), what=cid)
    add(
        cid,
        "poisson_deviance",
        p,
        y,
        kind=None,
        expected=val,
        reference="sklearn.metrics.mean_poisson_deviance(y, p)",
    )
    cid = "gamma_deviance-n17"
    r = rng(cid)
    y, p = r.gamma(2.0, 2.0, 17), r.gamma(2.0, 2.0, 17)
    val = skm.mean_gamma_deviance(y, p)
    check(val, skm.mean_tweedie_deviance(y, p, power=2), what=cid)
    add(
        cid,
        "gamma_deviance",
        p,
        y,
        kind=None,
        expected=val,
        reference="sklearn.metrics.mean_gamma_deviance(y, p)",
    )
    for n in (14, 27):
        cid = f"rmsle-random-n{n}"
        r = rng(cid)
        y = r.uniform(0, 10, n)
        p = np.clip(y + r.normal(0, 2, n), -0.5, None)
        val = skm.root_mean_squared_log_error(y, p)
        check(val, math.sqrt(skm.mean_squared_log_error(y, p)), what=cid)
        add(
            cid,
            "rmsle",
            p,
            y,
            kind=None,
            expected=val,
            reference="sklearn.metrics.root_mean_squared_log_error(y, p)",
        )


def gen_catalog_options() -> None:
    """kl log_target, bce label_smoothing (Keras) and per-column pos_weight (torch)."""
    for kind in ("probs", "logits"):
        cid = f"kl-log_target-{kind}"
        r = rng(cid)
        p = rand_dist(r, 10, 4, zeros=False)
        z = r.normal(0, 2, (10, 4))
        preds = z if kind == "logits" else softmax_np(z)
        log_q = F.log_softmax(T(z), dim=1)
        none = F.kl_div(log_q, T(np.log(p)), reduction="none", log_target=True)
        val = F.kl_div(log_q, T(np.log(p)), reduction="batchmean", log_target=True).item()
        check(val, F.kl_div(log_q, T(p), reduction="batchmean").item(), what=cid)
        add(
            cid,
            "kl:log_target=true",
            preds,
            np.log(p),
            kind=kind,
            expected=val,
            per_sample=per_row(none, "sum"),
            reference="torch.nn.functional.kl_div(log_softmax(z), log(p), reduction='batchmean', "
            "log_target=True)",
        )
    for eps, kind, shape in (
        (0.1, "logits", (14,)),
        (0.2, "probs", (12,)),
        (0.1, "logits", (9, 3)),
    ):
        cid = f"bce-label_smoothing-{eps}-{kind}-{'x'.join(map(str, shape))}"
        r = rng(cid)
        y = r.integers(0, 2, shape).astype(np.float64)
        x = r.normal(0, 2, shape)
        preds = x if kind == "logits" else r.uniform(0.02, 0.98, shape)
        ys = T(y * (1 - eps) + eps / 2)
        if kind == "logits":
            none = F.binary_cross_entropy_with_logits(T(x), ys, reduction="none")
            call = "binary_cross_entropy_with_logits(x"
        else:
            none = F.binary_cross_entropy(T(preds), ys, reduction="none")
            call = "binary_cross_entropy(p"
        if keras is not None:  # Keras itself computes in float32: agreement to 1e-6
            kval = keras.losses.binary_crossentropy(
                y, preds, from_logits=kind == "logits", label_smoothing=eps
            )
            check(float(np.mean(np.asarray(kval))), none.mean().item(), tol=1e-6, what=cid)
        add(
            cid,
            f"bce:label_smoothing={eps}",
            preds,
            y,
            kind=kind,
            expected=none.mean().item(),
            per_sample=per_row(none),
            reference=f"torch.nn.functional.{call}, y*(1-{eps})+{eps}/2) = "
            f"keras.losses.binary_crossentropy(y, ., label_smoothing={eps}) in float64",
        )
    for weights in ([1.0, 2.0, 0.5], [3.0]):
        cid = f"bce-pos_weight-list-{len(weights)}"
        r = rng(cid)
        y = r.integers(0, 2, (11, 3)).astype(np.float64)
        x = r.normal(0, 2, (11, 3))
        none = F.binary_cross_entropy_with_logits(
            T(x), T(y), pos_weight=T(weights), reduction="none"
        )
        spec = "bce:pos_weight=[" + ",".join(f"{w:g}" for w in weights) + "]"
        add(
            cid,
            spec,
            x,
            y,
            kind="logits",
            expected=none.mean().item(),
            per_sample=per_row(none),
            reference=f"torch.nn.functional.binary_cross_entropy_with_logits(x, y, "
            f"pos_weight=torch.tensor({weights}))",
        )


def multilabel_targets(y: np.ndarray) -> np.ndarray:
    """A multi-hot matrix as torch's multilabel_margin target: the 1s' indices, then -1."""
    out = -np.ones(y.shape, dtype=np.int64)
    for i, row in enumerate(y):
        idx = np.flatnonzero(row)
        out[i, : len(idx)] = idx
    return out


def gen_margin_losses() -> None:
    """torch soft_margin_loss (binary ±1 and multi-hot) and multilabel_margin_loss."""
    for cid, values in (("soft_margin-binary-pm1", (-1.0, 1.0)), ("soft_margin-binary-01", (0, 1))):
        r = rng(cid)
        y = np.asarray(values)[r.integers(0, 2, 15)]
        x = r.normal(0, 3, 15)
        x[0] = 30.0 * (1 if y[0] == values[0] else -1)  # far on the wrong side
        signs = np.where(y == values[1], 1.0, -1.0)
        none = F.soft_margin_loss(T(x), T(signs), reduction="none")
        check(
            none.mean().item(),
            F.binary_cross_entropy_with_logits(T(x), T((signs + 1) / 2)).item(),
            what=cid,
        )
        add(
            cid,
            "soft_margin",
            x,
            y,
            kind=None,
            expected=none.mean().item(),
            per_sample=none,
            reference="torch.nn.functional.soft_margin_loss(x, y) with y = +1 for the larger "
            "label, -1 for the other",
        )
    cid = "soft_margin-multilabel-n10-k4"
    r = rng(cid)
    y = r.integers(0, 2, (10, 4)).astype(np.float64)
    x = r.normal(0, 2, (10, 4))
    none = F.soft_margin_loss(T(x), T(2 * y - 1), reduction="none")
    add(
        cid,
        "soft_margin",
        x,
        y,
        kind=None,
        expected=none.mean().item(),
        per_sample=per_row(none),
        reference="torch.nn.functional.soft_margin_loss(x, 2*y - 1), y multi-hot",
    )
    cid = "soft_margin-sum"
    r = rng(cid)
    y = r.integers(0, 2, 9).astype(np.float64)
    x = r.normal(0, 2, 9)
    add(
        cid,
        "soft_margin",
        x,
        y,
        kind=None,
        reduction="sum",
        expected=F.soft_margin_loss(T(x), T(2 * y - 1), reduction="sum").item(),
        reference="torch.nn.functional.soft_margin_loss(x, 2*y - 1, reduction='sum')",
    )
    for n, c in ((12, 5), (9, 3)):
        cid = f"multilabel_margin-n{n}-c{c}"
        r = rng(cid)
        y = r.integers(0, 2, (n, c)).astype(np.float64)
        y[0] = 0.0  # no target: loss 0
        y[1] = 1.0  # every class a target: loss 0
        x = r.normal(0, 1.5, (n, c))
        target = TI(multilabel_targets(y))
        none = F.multilabel_margin_loss(T(x), target, reduction="none")
        add(
            cid,
            "multilabel_margin",
            x,
            y,
            kind=None,
            expected=none.mean().item(),
            per_sample=none,
            reference="torch.nn.functional.multilabel_margin_loss(x, target), target = indices "
            "of each row's 1s padded with -1",
        )
    cid = "multilabel_margin-torch-doc"
    x = [[0.1, 0.2, 0.4, 0.8]]
    y = [[1.0, 0.0, 0.0, 1.0]]  # torch's doc target [[3, 0, -1, 1]]: classes 3 and 0
    val = F.multilabel_margin_loss(T(x), TI([[3, 0, -1, 1]])).item()
    check(val, 0.85, what=cid)
    add(
        cid,
        "multilabel_margin",
        x,
        y,
        kind=None,
        expected=val,
        reference="torch.nn.functional.multilabel_margin_loss(x, torch.tensor([[3, 0, -1, 1]]))",
    )


# ------------------------------------------------------------------------------------------


# ------------------------------------------------------------------------------------------
# scikit-learn conventions that depend on the input: float32 clipping, multi-output RMSE
# (issue 8; the outputs helper's cases)
# ------------------------------------------------------------------------------------------


def gen_sklearn_input_conventions() -> None:
    """log_loss clips at the eps of the predictions' dtype (float32: 2**-23, not 2**-52), and
    root_mean_squared_error averages per-output RMSEs (multioutput='uniform_average')."""
    # Binary probabilities at and near 0 and 1, stored as float32: sklearn clips them to
    # [eps32, 1 - eps32] in float32.
    cid = "bce-probs-float32-sklearn"
    r = rng(cid)
    p = np.concatenate([[0.0, 1.0, 1e-9, 1.0 - 1e-9, 3e-8], r.uniform(0.01, 0.99, 7)])
    p32 = p.astype(np.float32)
    y = np.array([1, 0, 1, 0, 1, 0, 1, 1, 0, 0, 1, 0])
    add(
        cid,
        "bce",
        p32,
        y,
        kind="probs",
        expected=skm.log_loss(y, p32),
        reference="sklearn.metrics.log_loss(y, p) with p float32 (clip at float32 eps)",
        convention="sklearn",
        dtype="float32",
    )
    # Multiclass probability rows with exact zeros, float32.
    cid = "ce-probs-float32-sklearn"
    r = rng(cid)
    q = softmax_np(r.normal(0, 2.0, (9, 4))).astype(np.float32)
    q[0] = [0.0, 1.0, 0.0, 0.0]  # the true class gets 0 below: clipped at eps32
    q[1] = [1.0, 0.0, 0.0, 0.0]
    q /= q.sum(axis=1, keepdims=True, dtype=np.float32)
    y = np.array([0, 1, 2, 3, 0, 1, 2, 3, 0])
    add(
        cid,
        "ce",
        q,
        y,
        kind="probs",
        expected=skm.log_loss(y, q, labels=[0, 1, 2, 3]),
        reference="sklearn.metrics.log_loss(y, q, labels=[0, 1, 2, 3]) with q float32",
        convention="sklearn",
        dtype="float32",
    )
    # Multi-output regression: the mean of each output's RMSE.
    cid = "rmse-multioutput-sklearn"
    preds, labels = reg_data(rng(cid), (11, 3))
    labels[:, 2] *= 10.0  # outputs on different scales: the two averages differ clearly
    add(
        cid,
        "rmse",
        preds,
        labels,
        kind=None,
        expected=skm.root_mean_squared_error(labels, preds, multioutput="uniform_average"),
        reference="sklearn.metrics.root_mean_squared_error(y, p, multioutput='uniform_average')",
        convention="sklearn",
    )
    cid = "rmse-one-output-sklearn"
    preds, labels = reg_data(rng(cid), (13,))
    add(
        cid,
        "rmse",
        preds,
        labels,
        kind=None,
        expected=skm.root_mean_squared_error(labels, preds),
        reference="sklearn.metrics.root_mean_squared_error(y, p)",
        convention="sklearn",
    )


def tm_ece(conf: np.ndarray, correct: np.ndarray, n_bins: int, norm: str) -> float:
    """TorchMetrics' own binning and norm (``_ce_compute``) on float64 confidences."""
    from torchmetrics.functional.classification.calibration_error import _ce_compute

    return _ce_compute(T(conf), T(correct), n_bins, norm=norm).item()


def gen_calibration() -> None:
    """TorchMetrics CalibrationError, norms l1 (ece) and max (mce), binary and multiclass.

    Binary: ``binary_calibration_error`` keeps float64, so it is called as is. Multiclass:
    ``multiclass_calibration_error`` casts confidences to float32, so the float64 reference is
    TorchMetrics' own ``_ce_compute`` on float64 top-label confidences, cross-checked against
    the public function to float32 precision.
    """
    from torchmetrics.functional.classification import (
        binary_calibration_error,
        multiclass_calibration_error,
    )

    # losscli's bin edges b / n_bins against torch.linspace's: at most 1 ulp apart, and equal
    # for the bin counts whose edge cases are below (torch's vectorised kernel differs by CPU)
    for n_bins in range(1, 101):
        edges = torch.linspace(0, 1, n_bins + 1, dtype=F64).numpy()
        check(np.arange(n_bins + 1) / n_bins, edges, tol=2.3e-16, what=f"edges {n_bins}")
        if n_bins in (4, 5, 8):
            assert np.array_equal(np.arange(n_bins + 1) / n_bins, edges), n_bins
    binary = [
        ("ece-binary-n40", "probs", 15, 40, False),
        ("ece-binary-logits", "logits", 15, 30, False),
        ("ece-binary-edges", "probs", 5, 24, True),
        ("ece-binary-edges-8", "probs", 8, 24, True),
    ]
    for cid, kind, n_bins, n, edges in binary:
        r = rng(cid)
        y = r.integers(0, 2, n)
        x = r.normal(0, 2, n) if kind == "logits" else r.uniform(0, 1, n)
        if edges:  # confidences on bin edges, 0 and exactly 1 (a bin of its own)
            x[: n_bins + 1] = torch.linspace(0, 1, n_bins + 1, dtype=F64).numpy()
            x[n_bins + 1] = 1.0
        p = torch.sigmoid(T(x)) if kind == "logits" else T(x)
        for name, norm in (("ece", "l1"), ("mce", "max")):
            val = binary_calibration_error(T(x), TI(y), n_bins=n_bins, norm=norm).item()
            check(val, tm_ece(p.numpy(), y.astype(np.float64), n_bins, norm), what=cid)
            add(
                cid.replace("ece", name),
                f"{name}:bins={n_bins}",
                x,
                y,
                kind=kind,
                expected=val,
                reference="torchmetrics.functional.classification.binary_calibration_error"
                f"(x, y, n_bins={n_bins}, norm='{norm}')",
            )
    multiclass = [
        ("ece-multiclass-c4", "probs", 15, 60, 4, False),
        ("ece-multiclass-logits", "logits", 10, 45, 3, False),
        ("ece-multiclass-edges", "probs", 5, 20, 3, True),
    ]
    for cid, kind, n_bins, n, c, edges in multiclass:
        r = rng(cid)
        y = r.integers(0, c, n)
        z = r.normal(0, 2, (n, c))
        x = z if kind == "logits" else softmax_np(z)
        if edges:  # top-label confidences 0.6, 0.8 and 1 (one-hot): on the edges of 5 bins
            x[0], x[1], x[2] = [0.6, 0.3, 0.1], [0.1, 0.8, 0.1], [0.0, 0.0, 1.0]
        p = torch.softmax(T(x), 1) if kind == "logits" else T(x)
        conf, pred = p.max(dim=1)
        correct = (pred == TI(y)).double().numpy()
        for name, norm in (("ece", "l1"), ("mce", "max")):
            val = tm_ece(conf.numpy(), correct, n_bins, norm)
            public = multiclass_calibration_error(
                T(x), TI(y), num_classes=c, n_bins=n_bins, norm=norm
            ).item()
            check(val, public, tol=1e-6, what=cid)
            add(
                cid.replace("ece", name),
                f"{name}:bins={n_bins}",
                x,
                y,
                kind=kind,
                expected=val,
                reference="torchmetrics _ce_compute(max_c p, argmax_c p == y, "
                f"n_bins={n_bins}, norm='{norm}') in float64 = "
                "multiclass_calibration_error (float32 there)",
            )
    cid = "ece-default-bins"
    r = rng(cid)
    y = r.integers(0, 2, 50)
    x = r.uniform(0, 1, 50)
    add(
        cid,
        "ece",
        x,
        y,
        kind="probs",
        expected=binary_calibration_error(T(x), TI(y)).item(),
        reference="torchmetrics.functional.classification.binary_calibration_error(x, y) "
        "(n_bins=15, norm='l1')",
    )


def main() -> None:
    gen_regression()
    gen_ce()
    gen_bce()
    gen_kl()
    gen_hinge()
    gen_regression_extra()
    gen_classification_extra()
    gen_dense()
    gen_conventions()
    gen_sklearn_input_conventions()
    gen_brier()
    gen_deviances()
    gen_catalog_options()
    gen_margin_losses()
    gen_calibration()
    doc = {
        "generated_by": "tests/reference/generate_reference.py",
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "sklearn": sklearn.__version__,
            "scipy": scipy.__version__,
            "numpy": np.__version__,
            "keras": KERAS_VERSION,
        },
        "cases": CASES,
    }
    text = json.dumps(doc, indent=1, allow_nan=False)
    OUT.write_text(text + "\n")
    counts: dict[str, int] = {}
    for c in CASES:
        name = c["spec"].split(":")[0]
        counts[name] = counts.get(name, 0) + 1
    print(
        f"wrote {OUT} ({len(text) / 1e6:.2f} MB): {len(CASES)} cases, {CHECKS} cross-checks passed",
        file=sys.stderr,
    )
    for name, k in sorted(counts.items()):
        print(f"  {name:18s} {k}", file=sys.stderr)


if __name__ == "__main__":
    main()
