"""Mergeable accumulators: each has ``update`` (one chunk), ``merge`` (another accumulator of
the same run: a chunk, a partition, a saved state) and ``finalize`` (raw numbers, no text).

The same code serves a file held in memory (one chunk), a file streamed in chunks, and
partitions evaluated elsewhere whose accumulators are merged at the end.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from losscli.engine.results import CalibrationBin, ClassRow, Estimate, WorstRow
from losscli.errors import InputError
from losscli.losses import Confidences, PerSample, Reduce
from losscli.stats import LEVEL, t95, t_ppf


def hexes(values: np.ndarray) -> list[Any]:
    """An array as nested lists of exact hex floats (``float.hex``), for saved states."""
    return np.vectorize(float.hex, otypes=[object])(np.asarray(values, dtype=np.float64)).tolist()


def unhex(values: Any) -> np.ndarray:
    """The inverse of ``hexes``."""
    return np.vectorize(float.fromhex, otypes=[np.float64])(np.asarray(values, dtype=object))


# Σ_i x_i·y_i for np.einsum. A module constant: written in the call, its spelling had
# equivalent mutants ("I,I->", or the output "[]" of the list form dropped).
_DOT = "i,i->"


def _sums(
    codes: np.ndarray | None, size: int, x: np.ndarray, y: np.ndarray | None = None
) -> np.ndarray:
    """Per-group sums of ``x`` (of x·y when ``y`` is given); one group when ``codes`` is None.

    One group sums products without BLAS: OpenBLAS's threaded dot contends with the reader
    threads."""
    if codes is None:
        total = x.sum() if y is None else np.einsum(_DOT, x, y)
        return np.array([float(total)])
    return np.bincount(codes, weights=x if y is None else x * y, minlength=size)


def _counts(codes: np.ndarray | None, size: int, mask: np.ndarray) -> np.ndarray:
    """Per-group counts of the rows where ``mask`` holds."""
    if codes is None:
        return np.array([float(np.count_nonzero(mask))])
    return np.bincount(codes, weights=mask, minlength=size)  # Σ of 1.0 per row: float64


def _at(per_group: np.ndarray, codes: np.ndarray | None) -> np.ndarray | float:
    """Each row's group value (a scalar when there is one group)."""
    return per_group[0] if codes is None else per_group[codes]


def _mean(total: np.ndarray, count: np.ndarray) -> np.ndarray:
    """total / count, and 0 for a group with nothing counted (0 / infinity)."""
    return total / np.where(count > 0, count, np.inf)


@dataclass
class OutputMoments:
    """Mergeable means and co-moments of k outputs' per-sample terms (Chan et al., as Moments).

    Finalised as the mean over outputs of each output's root mean: scikit-learn's
    ``root_mean_squared_error(multioutput='uniform_average')``.
    """

    n: int = 0
    mean: np.ndarray = field(default_factory=lambda: np.zeros(0))
    comoment: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))

    def update(self, x: np.ndarray) -> None:
        if len(x):
            mean = x.mean(axis=0)
            d = x - mean
            self.merge(OutputMoments(len(x), mean, d.T @ d))

    def merge(self, other: OutputMoments) -> None:
        if other.n == 0:
            return
        if self.n == 0:
            self.n, self.mean, self.comoment = other.n, other.mean.copy(), other.comoment.copy()
            return
        n = self.n + other.n
        delta = other.mean - self.mean
        self.comoment = (
            self.comoment + other.comoment + np.outer(delta, delta) * (self.n * other.n / n)
        )
        self.mean = self.mean + delta * (other.n / n)
        self.n = n

    def to_state(self) -> dict[str, Any]:
        return {"n": self.n, "mean": hexes(self.mean), "comoment": hexes(self.comoment)}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> OutputMoments:
        k = len(state["mean"])
        return cls(
            int(state["n"]), unhex(state["mean"]).reshape(k), unhex(state["comoment"]).reshape(k, k)
        )

    def mean_of_roots(self) -> Estimate:
        """mean_k sqrt(mean_i x_ik); std by the delta method, 95% Student-t interval."""
        roots = np.sqrt(self.mean)
        value = float(roots.mean())
        n, k = self.n, len(roots)
        sd = math.nan
        if n > 1 and np.all(roots > 0):
            # Influence of a sample: sum_k (x_ik - m_k) / (2 k sqrt(m_k)).
            a = 1.0 / (2.0 * k * roots)
            sd = math.sqrt(max(float(a @ (self.comoment / (n - 1)) @ a), 0.0))
        half = t95(n) * sd / math.sqrt(n)
        return Estimate(value, sd, value - half, value + half)


def bin_edges(n_bins: int) -> np.ndarray:
    """Edges b / n_bins, b = 0..n_bins, each the nearest float64. TorchMetrics' edges are
    ``torch.linspace(0, 1, n_bins + 1)``, whose vectorised CPU kernel can land 1 ulp away
    (e.g. 10/15); they agree exactly for 1, 2, 4, 5, 8, 16, 32 and 64 bins."""
    return np.arange(n_bins + 1) / n_bins  # integers over an integer: float64 quotients


@dataclass
class Calibration:
    """Equal-width confidence bins: per bin the count, Σ confidence and Σ correct.

    Bin b holds edges[b] <= confidence < edges[b + 1] (TorchMetrics:
    ``torch.bucketize(confidence, edges, right=True) − 1``), so a confidence of exactly 1 lands
    in a bin of its own, index ``n_bins``, as it does there. Sums merge exactly.
    """

    n_bins: int
    count: np.ndarray = field(init=False)
    sum_conf: np.ndarray = field(init=False)
    sum_correct: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        size = self.n_bins + 1
        self.count, self.sum_conf, self.sum_correct = np.zeros(size), np.zeros(size), np.zeros(size)

    def update(self, c: Confidences) -> None:
        idx = np.searchsorted(bin_edges(self.n_bins), c.confidence, side="right") - 1
        size = self.n_bins + 1
        self.count += np.bincount(idx, minlength=size)
        self.sum_conf += np.bincount(idx, weights=c.confidence, minlength=size)
        self.sum_correct += np.bincount(idx, weights=c.correct, minlength=size)

    def merge(self, other: Calibration) -> None:
        self.count += other.count
        self.sum_conf += other.sum_conf
        self.sum_correct += other.sum_correct

    def to_state(self) -> dict[str, Any]:
        """The bins' sums, every float as an exact ``float.hex`` string."""
        sums = {name: [float(x).hex() for x in getattr(self, name)] for name in _BIN_SUMS}
        return {"n_bins": self.n_bins, **sums}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Calibration:
        out = cls(int(state["n_bins"]))
        for name in _BIN_SUMS:
            values = np.array([float.fromhex(x) for x in state[name]])  # floats: float64
            if values.shape != (out.n_bins + 1,):
                raise ValueError(f"{name}: {values.size} bins, expected {out.n_bins + 1}")
            setattr(out, name, values)
        return out

    def _gaps(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per bin: mean confidence, accuracy (0 when empty, as TorchMetrics) and |gap|."""
        with np.errstate(invalid="ignore", divide="ignore"):
            conf = np.nan_to_num(self.sum_conf / self.count)
            acc = np.nan_to_num(self.sum_correct / self.count)
        return conf, acc, np.abs(acc - conf)

    def finalize(self, reduce: Reduce) -> Estimate:
        """ECE Σ_b (n_b / n)·gap_b or MCE max_b gap_b; no interval (not a mean of samples)."""
        _, _, gap = self._gaps()
        value = (
            float(np.sum(gap * (self.count / self.count.sum())))
            if reduce is Reduce.CALIBRATION_L1
            else float(np.max(gap))
        )
        return Estimate(value, math.nan, math.nan, math.nan)

    def bins(self) -> tuple[CalibrationBin, ...]:
        """The reliability table; the bin of confidences exactly 1 only when it is used."""
        conf, acc, gap = self._gaps()
        edges = np.append(bin_edges(self.n_bins), 1.0)
        used = range(self.n_bins + (1 if self.count[-1] else 0))
        return tuple(
            CalibrationBin(
                float(edges[b]),
                float(edges[b + 1]),
                int(self.count[b]),
                float(conf[b]) if self.count[b] else None,
                float(acc[b]) if self.count[b] else None,
                float(gap[b]) if self.count[b] else None,
            )
            for b in used
        )


_BIN_SUMS = ("count", "sum_conf", "sum_correct")
_STATE_SUMS = (
    "sum_v",
    "sum_w",
    "mean_v",
    "mean_w",
    "m_vv",
    "m_ww",
    "m_vw",
    "sum_ww",
    "mean_l",
    "m_ll",
)


@dataclass
class Moments:
    """Mergeable sums for a (weighted) mean and its uncertainty.

    Holds n, Σv, Σw and the centred co-moments of (v, w) so that merging chunks (Chan et al.)
    never subtracts large sums. v are the per-sample values, w their weights (1 if none).
    With sample weights (``kish``) it also holds, over the rows of positive weight, Σw², the
    weighted mean of each row's own loss ℓ = v/w and Σw(ℓ − mean)², for the weighted
    variance and Kish's effective sample size (Σw)²/Σw².
    """

    n: int = 0
    sum_v: float = 0.0
    sum_w: float = 0.0
    mean_v: float = 0.0
    mean_w: float = 0.0
    m_vv: float = 0.0
    m_ww: float = 0.0
    m_vw: float = 0.0
    ignored: int = 0  # samples left out: weight 0 and value 0 (ignore_index, sample weight 0)
    # Per-output moments, for losses whose terms keep their outputs (``PerSample.outputs``).
    outputs: OutputMoments | None = None
    # Confidence bins, for calibration losses (``PerSample.calibration``, ``Reduce.binned``).
    calibration: Calibration | None = None
    kish: bool = False
    sum_ww: float = 0.0
    mean_l: float = 0.0
    m_ll: float = 0.0

    def update(self, values: np.ndarray, weights: np.ndarray | None) -> None:
        for _, chunk in Moments.grouped(None, 1, values, weights):
            self.merge(chunk)

    @staticmethod
    def grouped(
        codes: np.ndarray | None,
        size: int,
        values: np.ndarray,
        weights: np.ndarray | None,
        kish: bool = False,
    ) -> list[tuple[int, Moments]]:
        """One chunk's Moments per group code in 0..size-1 (codes None: one group, code 0),
        for the groups present; vectorised with np.bincount."""
        sums = _group_sums(codes, size, values, weights)
        present = np.flatnonzero(sums["n"] + sums["ignored"])
        return [(int(g), _moments_at(sums, int(g), kish)) for g in present]

    def update_outputs(self, outputs: np.ndarray) -> None:
        """Add (n, k) per-output terms (kept besides the per-sample sums)."""
        if self.outputs is None:
            self.outputs = OutputMoments()
        self.outputs.update(outputs)

    def update_calibration(self, confidences: Confidences) -> None:
        """Add confidences to the bins (kept besides the sums of the per-sample gaps)."""
        if self.calibration is None:
            self.calibration = Calibration(confidences.n_bins)
        self.calibration.update(confidences)

    def merge(self, other: Moments) -> None:
        outputs, calibration = self.outputs, self.calibration
        if other.outputs is not None:
            outputs = outputs or OutputMoments()
            outputs.merge(other.outputs)
        if other.calibration is not None:
            calibration = calibration or Calibration(other.calibration.n_bins)
            calibration.merge(other.calibration)
        self._merge_sums(other)
        self.outputs, self.calibration = outputs, calibration

    def _merge_sums(self, other: Moments) -> None:
        self.kish = self.kish or other.kish
        if other.n == 0 or self.n == 0:
            ignored = self.ignored + other.ignored
            if self.n == 0:
                kish = self.kish
                self.__dict__.update(other.__dict__)
                self.kish = kish
            self.ignored = ignored
            return
        n = self.n + other.n
        dv, dw = other.mean_v - self.mean_v, other.mean_w - self.mean_w
        f = self.n * other.n / n
        self.m_vv += other.m_vv + dv * dv * f
        self.m_ww += other.m_ww + dw * dw * f
        self.m_vw += other.m_vw + dv * dw * f
        self.mean_v += dv * other.n / n
        self.mean_w += dw * other.n / n
        total = self.sum_w + other.sum_w
        if total > 0:
            # Weighted Chan merge of the own-loss mean and its weighted sum of squares.
            dl = other.mean_l - self.mean_l
            self.m_ll += other.m_ll + dl * dl * self.sum_w * other.sum_w / total
            self.mean_l += dl * other.sum_w / total
        self.sum_v += other.sum_v
        self.sum_w = total
        self.sum_ww += other.sum_ww
        self.ignored += other.ignored
        self.n = n

    @property
    def n_eff(self) -> float:
        """Kish's effective sample size (Σw)² / Σw² (n when every weight is 1)."""
        return self.sum_w * self.sum_w / self.sum_ww if self.sum_ww > 0 else 0.0

    def to_state(self) -> dict[str, Any]:
        sums = _STATE_SUMS
        state: dict[str, Any] = {"n": self.n, "ignored": self.ignored, "kish": self.kish}
        state.update({name: float(getattr(self, name)).hex() for name in sums})
        state["outputs"] = None if self.outputs is None else self.outputs.to_state()
        state["calibration"] = None if self.calibration is None else self.calibration.to_state()
        return state

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Moments:
        sums = _STATE_SUMS
        out = cls(n=int(state["n"]), ignored=int(state["ignored"]), kish=bool(state["kish"]))
        for name in sums:
            setattr(out, name, float.fromhex(state[name]))
        if state["outputs"] is not None:
            out.outputs = OutputMoments.from_state(state["outputs"])
        if state.get("calibration") is not None:  # absent from states of losses without bins
            out.calibration = Calibration.from_state(state["calibration"])
        return out

    def finalize(self, reduce: Reduce, reduction: str) -> Estimate:
        """The reduced value, the per-sample std and a 95% Student-t interval (n − 1 df;
        with sample weights, Kish's n_eff − 1: see ``_kish_estimate``)."""
        if self.sum_w == 0:
            raise InputError(
                "every row is ignored (ignore_index) or has weight 0, so the mean is "
                "undefined; check ignore_index, the labels and the weights"
            )
        if reduce.binned and self.calibration is not None:
            return self.calibration.finalize(reduce)
        if self.kish:
            return self._kish_estimate(reduce, reduction)
        if reduction == "sum":
            return self._sum_estimate()
        if reduce is Reduce.SQRT_MEAN and self.outputs is not None:
            return self.outputs.mean_of_roots()
        return self._mean_estimate(reduce)

    def _sum_estimate(self) -> Estimate:
        n, value = self.n, self.sum_v
        sd = math.sqrt(self.m_vv / (n - 1)) if n > 1 else math.nan
        half = t95(n) * math.sqrt(n) * sd
        return Estimate(value, sd, value - half, value + half)

    def _mean_estimate(self, reduce: Reduce) -> Estimate:
        n = self.n
        ratio = self.sum_v / self.sum_w
        if n > 1 and math.isfinite(ratio):
            # Linearised std of the ratio estimator Σv/Σw; the plain sample std when w = 1.
            spread = max(self.m_vv - 2 * ratio * self.m_vw + ratio * ratio * self.m_ww, 0.0)
            sd = math.sqrt(spread / (n - 1)) / self.mean_w
        else:
            sd = math.nan
        return _from_mean(ratio, sd, t95(n) * sd / math.sqrt(n), reduce)

    def _kish_estimate(self, reduce: Reduce, reduction: str) -> Estimate:
        """With sample weights: the weighted std s, s² = Σw(ℓ − mean)²/Σw · n_eff/(n_eff − 1),
        and the interval mean ± t(n_eff − 1) · s/√n_eff with Kish's n_eff = (Σw)²/Σw²; for
        the sum, Σw times the mean's half-width. Unit weights give the unweighted interval."""
        n_eff = self.n_eff
        if n_eff > 1:
            sd = math.sqrt(self.m_ll / self.sum_w * n_eff / (n_eff - 1))
            half = t_ppf(0.5 + LEVEL / 2, n_eff - 1) * sd / math.sqrt(n_eff)
        else:
            sd = half = math.nan
        if reduction == "sum":
            value, half = self.sum_v, half * self.sum_w
            return Estimate(value, sd, value - half, value + half)
        return _from_mean(self.sum_v / self.sum_w, sd, half, reduce)


def _from_mean(ratio: float, sd: float, half: float, reduce: Reduce) -> Estimate:
    """The estimate of a mean with per-sample std ``sd`` and interval half-width ``half``."""
    if reduce is Reduce.SQRT_MEAN:
        root = math.sqrt(ratio)
        # Interval by transforming the mean's bounds; std by the delta method.
        return Estimate(
            root,
            sd / (2 * root) if root > 0 else math.nan,
            math.sqrt(max(ratio - half, 0.0)),
            math.sqrt(ratio + half),
        )
    return Estimate(ratio, sd, ratio - half, ratio + half)


def _kish_sums(
    codes: np.ndarray | None, size: int, values: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per group, over rows of positive weight: Σw², the weighted mean of ℓ = v/w and
    Σw(ℓ − mean)²."""
    pos = weights > 0
    v, w = values[pos], weights[pos]
    c = None if codes is None else codes[pos]
    own = v / w
    mean_l = _mean(_sums(c, size, v), _sums(c, size, w))
    dl = own - _at(mean_l, c)
    return _sums(c, size, w, w), mean_l, _sums(c, size, w * dl, dl)


_GROUP_FIELDS = ("n", "ignored", *_STATE_SUMS)


def _group_sums(
    codes: np.ndarray | None, size: int, values: np.ndarray, weights: np.ndarray | None
) -> dict[str, np.ndarray]:
    """Per group code in 0..size-1 (codes None: one group), the sums ``Moments`` holds, as
    arrays (np.bincount): n, ignored, Σv, Σw, means, co-moments and the Kish sums."""
    ignored = np.zeros(size)
    if weights is not None:
        # Ignored samples (ignore_index, weight 0) count nowhere: not in n, not the spread.
        out = (weights == 0) & (values == 0)
        if out.any():
            ignored = _counts(codes, size, out)
            values, weights = values[~out], weights[~out]
            codes = None if codes is None else codes[~out]
    n = _counts(codes, size, np.ones(len(values)))  # every row (a mask of nonzeros)
    sum_v = _sums(codes, size, values)
    mean_v = _mean(sum_v, n)
    with np.errstate(invalid="ignore"):
        dv = values - _at(mean_v, codes)
        m_vv = _sums(codes, size, dv, dv)
        if weights is None:
            sum_w, mean_w, m_ww, m_vw = n, np.ones(size), np.zeros(size), np.zeros(size)
            sum_ww, mean_l, m_ll = n, mean_v, m_vv
        else:
            sum_w = _sums(codes, size, weights)
            mean_w = _mean(sum_w, n)
            dw = weights - _at(mean_w, codes)
            m_ww, m_vw = _sums(codes, size, dw, dw), _sums(codes, size, dv, dw)
            sum_ww, mean_l, m_ll = _kish_sums(codes, size, values, weights)
    return {
        "n": n,
        "ignored": ignored,
        "sum_v": sum_v,
        "sum_w": sum_w,
        "mean_v": mean_v,
        "mean_w": mean_w,
        "m_vv": m_vv,
        "m_ww": m_ww,
        "m_vw": m_vw,
        "sum_ww": sum_ww,
        "mean_l": mean_l,
        "m_ll": m_ll,
    }


def _moments_at(sums: dict[str, np.ndarray], g: int, kish: bool) -> Moments:
    """Group ``g`` of ``_group_sums`` as a ``Moments``."""
    out = Moments(n=int(sums["n"][g]), ignored=int(sums["ignored"][g]), kish=kish)
    for name in _STATE_SUMS:
        setattr(out, name, float(sums[name][g]))
    return out


@dataclass
class GroupMoments:
    """``Moments`` of many groups (``--group-by`` slices) as arrays, one entry per group:
    updated from a chunk's group codes with np.bincount and merged with the same Chan
    formulas as ``Moments``, vectorised over the groups (no Python loop per group)."""

    kish: bool = False
    sums: dict[str, np.ndarray] = field(
        default_factory=lambda: {name: np.zeros(0) for name in _GROUP_FIELDS}
    )

    def __len__(self) -> int:
        return len(self.sums["n"])

    def grow(self, size: int) -> None:
        """Room for groups 0..size-1 (new groups hold nothing)."""
        extra = size - len(self)
        if extra > 0:
            self.sums = {k: np.concatenate([v, np.zeros(extra)]) for k, v in self.sums.items()}

    def update(
        self, codes: np.ndarray, size: int, values: np.ndarray, w: np.ndarray | None
    ) -> None:
        """Add a chunk's terms, row i to group ``codes[i]`` (< ``size``)."""
        self.merge_at(np.arange(size), _group_sums(codes, size, values, w))

    def merge(self, other: GroupMoments, at: np.ndarray) -> None:
        """Add another's groups: its group j to this one's group ``at[j]``."""
        self.merge_at(at, other.sums)

    def merge_at(self, at: np.ndarray, theirs: dict[str, np.ndarray]) -> None:
        self.grow(int(at.max()) + 1 if len(at) else 0)
        mine = {k: v[at] for k, v in self.sums.items()}
        merged = _chan(mine, theirs)
        for k, v in merged.items():
            self.sums[k][at] = v

    def moments(self, g: int) -> Moments:
        return _moments_at(self.sums, g, self.kish)

    def to_state(self) -> dict[str, Any]:
        return {"kish": self.kish, **{k: hexes(v) for k, v in self.sums.items()}}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> GroupMoments:
        sums = {k: unhex(state[k]) for k in _GROUP_FIELDS}
        if {v.shape for v in sums.values()} != {(len(sums["n"]),)}:
            raise ValueError("per-slice sums of different lengths")
        return cls(bool(state["kish"]), sums)


def _chan(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``Moments._merge_sums`` on arrays of groups: a group empty on one side takes the
    other's sums (the Chan terms vanish with a weight 0). A group with no row (no weight)
    on either side divides 0 by infinity: no Chan term, no 0/0."""
    n = a["n"] + b["n"]
    n_div = np.where(n > 0, n, np.inf)
    f = a["n"] * b["n"] / n_div
    share = b["n"] / n_div
    dv, dw = b["mean_v"] - a["mean_v"], b["mean_w"] - a["mean_w"]
    total = a["sum_w"] + b["sum_w"]
    dl = b["mean_l"] - a["mean_l"]
    w_div = np.where(total > 0, total, np.inf)
    ll = a["sum_w"] * b["sum_w"] / w_div
    l_share = b["sum_w"] / w_div
    return {
        "n": n,
        "ignored": a["ignored"] + b["ignored"],
        "sum_v": a["sum_v"] + b["sum_v"],
        "sum_w": total,
        "mean_v": a["mean_v"] + dv * share,
        "mean_w": a["mean_w"] + dw * share,
        "m_vv": a["m_vv"] + b["m_vv"] + dv * dv * f,
        "m_ww": a["m_ww"] + b["m_ww"] + dw * dw * f,
        "m_vw": a["m_vw"] + b["m_vw"] + dv * dw * f,
        "sum_ww": a["sum_ww"] + b["sum_ww"],
        "mean_l": a["mean_l"] + dl * l_share,
        "m_ll": a["m_ll"] + b["m_ll"] + dl * dl * ll,
    }


@dataclass
class Worst:
    """A bounded set of the rows with the highest per-sample value of the first loss."""

    k: int
    keys: np.ndarray = field(default_factory=lambda: np.empty(0))
    rows: list[WorstRow] = field(default_factory=list)

    def update(
        self,
        key: np.ndarray,
        describe: Callable[[np.ndarray], list[WorstRow]],
        eligible: np.ndarray | None = None,
    ) -> None:
        """Keep the chunk's rows that rank among the k worst; ``describe`` builds them.
        ``eligible`` (a row mask) leaves the other rows out, e.g. rows of sample weight 0."""
        if self.k <= 0 or not len(key):
            return
        ranked = np.where(np.isnan(key), -np.inf, key)
        # Once k rows are kept, only rows above the k-th worst can enter.
        cand = (
            np.flatnonzero(ranked > self.keys.min())
            if len(self.keys) == self.k
            else np.arange(len(ranked))
        )
        if eligible is not None:
            cand = cand[eligible[cand]]
        if not len(cand):
            return
        # (At len(cand) == k the block below keeps every candidate: `>=` is equivalent.)
        if len(cand) > self.k:  # pragma: no mutate
            # Keep every row tied with the k-th largest, then break ties by row order, so the
            # table does not depend on how the file was cut into chunks.
            last = self.k - 1  # the k-th largest's position, once partitioned
            kth = ranked[cand][np.argpartition(-ranked[cand], last)[last]]
            cand = cand[ranked[cand] >= kth]
            cand = cand[np.lexsort((cand, -ranked[cand]))[: self.k]]
        self.merge(Worst(self.k, ranked[cand], describe(cand)))

    def merge(self, other: Worst) -> None:
        keys = np.concatenate([self.keys, other.keys])
        rows = self.rows + other.rows
        order = sorted(range(len(rows)), key=lambda i: (-keys[i], rows[i].row))[: self.k]
        self.keys, self.rows = keys[order], [rows[i] for i in order]

    def to_state(self) -> dict[str, Any]:
        return {"k": self.k, "keys": hexes(self.keys), "rows": [_row_state(r) for r in self.rows]}

    @classmethod
    def from_state(cls, state: dict[str, Any], row_offset: int = 0) -> Worst:
        """A saved state; ``row_offset`` is added to the row numbers (rows read before it)."""
        rows = [_row_from_state(r, row_offset) for r in state["rows"]]
        return cls(int(state["k"]), unhex(state["keys"]).reshape(len(rows)), rows)

    def finalize(self) -> tuple[WorstRow, ...]:
        """The kept rows, worst first (ties by row number)."""
        return tuple(self.rows)


@dataclass
class ByClass:
    """Per true class and loss: Σ values, Σ weights and the number of counted samples."""

    n_losses: int
    n_classes: int
    sum_v: np.ndarray = field(init=False)
    sum_w: np.ndarray = field(init=False)
    count: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        shape = (self.n_losses, self.n_classes)
        self.sum_v, self.sum_w, self.count = np.zeros(shape), np.zeros(shape), np.zeros(shape)

    def update(self, loss: int, terms: PerSample, classes: np.ndarray) -> None:
        weights = np.ones(len(terms.values)) if terms.weights is None else terms.weights
        keep = (classes >= 0) & (classes < self.n_classes) & (weights > 0)
        cls = classes[keep]
        c = self.n_classes
        self.sum_v[loss] += np.bincount(cls, weights=terms.values[keep], minlength=c)
        self.sum_w[loss] += np.bincount(cls, weights=weights[keep], minlength=c)
        self.count[loss] += np.bincount(cls, minlength=c)

    def merge(self, other: ByClass) -> None:
        self.sum_v += other.sum_v
        self.sum_w += other.sum_w
        self.count += other.count

    def to_state(self) -> dict[str, Any]:
        return {
            "n_losses": self.n_losses,
            "n_classes": self.n_classes,
            "sum_v": hexes(self.sum_v),
            "sum_w": hexes(self.sum_w),
            "count": hexes(self.count),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> ByClass:
        out = cls(int(state["n_losses"]), int(state["n_classes"]))
        shape = (out.n_losses, out.n_classes)
        out.sum_v = unhex(state["sum_v"]).reshape(shape)
        out.sum_w = unhex(state["sum_w"]).reshape(shape)
        out.count = unhex(state["count"]).reshape(shape)
        return out

    def finalize(self, classes: list[str]) -> tuple[ClassRow, ...]:
        """Per-class means and shares of the total (the shares of a loss add up to 1)."""
        totals = self.sum_v.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            means = self.sum_v / self.sum_w
            shares = self.sum_v / totals
        return tuple(
            ClassRow(
                name,
                tuple(int(x) for x in self.count[:, c]),
                tuple(float(x) for x in means[:, c]),
                tuple(float(x) for x in shares[:, c]),
            )
            for c, name in enumerate(classes)
        )


_FLOAT_FIELDS = ("p_true", "accuracy")
_FLOATS_FIELDS = ("losses", "label", "prediction")


def _row_state(row: WorstRow) -> dict[str, Any]:
    """A worst row with its floats as exact hex strings."""
    state = asdict(row)
    for name in _FLOAT_FIELDS:
        if state[name] is not None:
            state[name] = float(state[name]).hex()
    for name in _FLOATS_FIELDS:
        if state[name] is not None:
            state[name] = [float(v).hex() for v in state[name]]
    return state


def _row_from_state(state: dict[str, Any], row_offset: int) -> WorstRow:
    values = {f.name: state[f.name] for f in fields(WorstRow)}
    for name in _FLOAT_FIELDS:
        if values[name] is not None:
            values[name] = float.fromhex(values[name])
    for name in _FLOATS_FIELDS:
        if values[name] is not None:
            values[name] = tuple(float.fromhex(v) for v in values[name])
    values["row"] = int(values["row"]) + row_offset
    return WorstRow(**values)
