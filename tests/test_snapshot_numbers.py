"""Every number in the snapshot files, recomputed from sample_data/ without losscli.

The golden outputs (tests/golden/*.txt, rewritten by ``make golden``) and the README gallery
(rewritten by ``make readme``) are written by losscli itself, so comparing against them only
says that the output did not change. This test reads each snapshot, finds every table in it,
and recomputes each number it shows from the files of ``sample_data/`` with NumPy, pandas,
SciPy and scikit-learn: loss values, n, std, the 95% interval (Student t with n − 1 df cut to
the loss's range, or a bootstrap of the mean), worst rows (row or id, label, predicted class,
p(true), every loss), per-class n, mean and share, the columns of ``compare`` (paired t-test:
``scipy.stats.ttest_rel``) and ``check``. A regenerated snapshot with a wrong number fails
here. A shown number agrees when it is the expected value rounded to the digits shown.

A snapshot whose command this file does not know fails too: give it an oracle below.
"""

from __future__ import annotations

import csv
import io
import math
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT
from float32_bound import loss_bound
from scipy import stats
from scipy.special import logsumexp, rel_entr
from sklearn.metrics import hinge_loss, log_loss, mean_squared_error
from stat_oracles import holm

GALLERY = re.compile(r"<!-- gallery -->\n```console\n\$ (?P<cmd>[^\n]+)\n(?P<out>.*?)```", re.S)
EPS = float(np.finfo(np.float64).eps)

# --------------------------------------------------------------------------- reading numbers


def agrees(shown: str, expected: float, slack: float = 0.0) -> bool:
    """``shown`` is ``expected`` rounded to the significant digits it shows (give or take
    ``slack``)."""
    text = shown.replace("★", "").strip()
    scale = 100.0 if text.endswith("%") else 1.0
    text = text.rstrip("%")
    value = float(text)
    mantissa = text.lstrip("+-").split("e")[0]
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    exponent = int(text.split("e")[1]) if "e" in text else 0
    step = 10.0 ** (exponent - decimals)
    if "." not in mantissa and "e" not in text and value != 0:
        # an integer part written out in full; %g may also have cut trailing digits
        digits = len(mantissa.lstrip("0"))
        step = 10.0 ** (math.floor(math.log10(abs(value))) - digits + 1) if digits else 1.0
    return abs(value - scale * expected) <= 0.5 * step * (1 + 1e-9) + slack + 1e-300


def interval(shown: str) -> tuple[str, str]:
    low, high = shown.strip().strip("[]").split(",")
    return low.strip(), high.strip()


@dataclass
class Table:
    title: str
    header: list[str]
    rows: list[list[str]] = field(default_factory=list)

    def column(self, name: str) -> int:
        return self.header.index(name)


def rich_tables(text: str) -> list[Table]:
    """Rich tables: a header with ┃, a rule of ━, rows with │ (titles: the line above)."""
    lines = text.splitlines()
    tables = []
    for i, line in enumerate(lines):
        if "┃" in line and i + 1 < len(lines) and "━" in lines[i + 1]:
            title = lines[i - 1].strip() if i else ""
            table = Table(title, [c.strip() for c in line.split("┃")])
            for row in lines[i + 2 :]:
                if "│" not in row:
                    break
                table.rows.append([c.strip() for c in row.split("│")])
            tables.append(table)
    return tables


def markdown_tables(text: str) -> list[Table]:
    lines = text.splitlines()
    tables = []
    for i, line in enumerate(lines):
        if line.startswith("| ") and i + 1 < len(lines) and lines[i + 1].startswith("| ---"):
            title = next((t for t in reversed(lines[:i]) if t.strip()), "")
            cells = [c.strip().strip("`") for c in line.strip("|").split("|")]
            table = Table(title, cells)
            for row in lines[i + 2 :]:
                if not row.startswith("|"):
                    break
                table.rows.append([c.strip().strip("`") for c in row.strip("|").split("|")])
            tables.append(table)
    return tables


# --------------------------------------------------------------------------- data and losses


@dataclass
class Data:
    """One prediction file against the labels, in an order the snapshot does not matter for."""

    task: str
    preds: np.ndarray
    labels: np.ndarray
    ids: list[str] | None = None
    classes: list[str] = field(default_factory=list)
    # The labels file's other columns (group columns for --group-by), row-aligned.
    columns: dict[str, np.ndarray] = field(default_factory=dict)
    probs: bool = False  # multiclass scores that are probabilities (else logits)
    # Classes of float32 logits (0: float64 on disk): ce and focal exponentiate them in float32,
    # within tests/float32_bound.py's bound of these float64 recomputations.
    float32_classes: int = 0

    def slack(self, spec: str, value: float) -> float:
        """How far a shown ``spec`` value may be from the float64 recomputation, beyond its
        rounding: the float32 kernels' bound (derived in losscli/losses/kernels.py), or 0."""
        if not self.float32_classes or spec.split(":")[0] not in ("ce", "focal"):
            return 0.0
        gamma = 2.0 if spec.startswith("focal") else 0.0
        smooth = "label_smoothing" in spec
        return loss_bound(self.float32_classes, value, dot=smooth, gamma=gamma, rel=0.0)

    def subset(self, mask: np.ndarray) -> Data:
        """The rows where ``mask`` holds (one slice)."""
        cols = {k: v[mask] for k, v in self.columns.items()}
        part = (self.preds[mask], self.labels[mask])
        return Data(self.task, *part, None, self.classes, cols, self.probs, self.float32_classes)


def read_table(path: str) -> pd.DataFrame:
    return pd.read_parquet(ROOT / path) if path.endswith(".parquet") else pd.read_csv(ROOT / path)


def load(preds: str, labels: str, id_col: str | None, label_col: str | None = None) -> Data:
    if preds.endswith(".npy"):
        raw, y = np.load(ROOT / preds), np.load(ROOT / labels)
        z = raw.astype(np.float64)
        if z.ndim == 4:
            f32 = z.shape[1] if raw.dtype == np.float32 else 0
            classes = [str(c) for c in range(z.shape[1])]
            return Data("dense", z, y, classes=classes, float32_classes=f32)
        return Data("distribution", z, y, classes=[str(c) for c in range(z.shape[1])])
    p, y = read_table(preds), read_table(labels)
    if id_col:
        merged = p.merge(y, on=id_col, validate="one_to_one")
        classes = [c for c in p.columns if c != id_col]
        label = next(c for c in y.columns if c != id_col)
        codes = merged[label].map(classes.index).to_numpy()
        ids = merged[id_col].astype(str).tolist()
        return Data("multiclass", merged[classes].to_numpy(float), codes, ids, classes)
    if y.shape[1] > 1:  # class names in the label column, group columns beside it
        label = label_col or y.columns[0]
        classes = list(p.columns)
        codes = y[label].map(classes.index).to_numpy()
        others = {c: y[c].astype(str).to_numpy() for c in y.columns if c != label}
        ids = [str(i) for i in range(len(y))]  # compare names rows by number
        return Data("multiclass", p.to_numpy(float), codes, ids, classes, others, probs=True)
    x, t = p.iloc[:, 0].to_numpy(float), y.iloc[:, 0].to_numpy(float)
    if set(np.unique(t)) <= {0.0, 1.0}:
        return Data("binary", x, t.astype(int), classes=["0", "1"])
    return Data("regression", x, t)


def per_sample(spec: str, d: Data, convention: str = "losscli") -> tuple[np.ndarray, np.ndarray]:
    """(values, weights) per sample from the loss's formula; the mean is Σ values / Σ weights."""
    name, _, params = spec.partition(":")
    kw = dict(p.split("=") for p in params.split(",")) if params else {}
    ones = np.ones(len(d.preds))
    if d.task == "regression":
        r = d.preds - d.labels
        delta = float(kw.get("delta", 1.0))
        huber = np.where(np.abs(r) <= delta, 0.5 * r**2, delta * (np.abs(r) - 0.5 * delta))
        return {"mse": r**2, "rmse": r**2, "mae": np.abs(r), "huber": huber}[name], ones
    if d.task == "binary":
        if name == "hinge":
            return np.maximum(0, 1 - (2 * d.labels - 1) * d.preds), ones
        if name == "mse":
            return (d.preds - d.labels) ** 2, ones
        p_true = np.clip(np.where(d.labels == 1, d.preds, 1 - d.preds), EPS, 1 - EPS)
        return -np.log(p_true), ones  # sklearn log_loss per sample
    if d.task == "multiclass":
        n = len(d.labels)
        if name == "hinge":
            z = d.preds.copy()
            true = z[np.arange(n), d.labels]
            z[np.arange(n), d.labels] = -np.inf
            return np.maximum(0, 1 + z.max(axis=1) - true), ones  # Crammer–Singer
        if d.probs:  # sklearn log_loss per sample: clipped to [eps, 1 - eps]
            log_p = np.log(np.clip(d.preds, EPS, 1 - EPS))
        else:
            log_p = d.preds - logsumexp(d.preds, axis=1, keepdims=True)
        nll = -log_p[np.arange(n), d.labels]
        eps = float(kw.get("label_smoothing", 0))
        return (1 - eps) * nll + eps * -log_p.mean(axis=1), ones
    if d.task == "distribution":
        p, q = d.labels, d.preds
        if name == "kl":
            if convention == "keras":
                pc, qc = np.clip(p, 1e-7, 1), np.clip(q, 1e-7, 1)
                return (pc * np.log(pc / qc)).sum(axis=1), ones
            kl = rel_entr(p, q).sum(axis=1)
            return (kl / p.shape[1] if convention == "torch" else kl), ones
        if convention == "keras":
            q = np.clip(q / q.sum(axis=1, keepdims=True), 1e-7, 1 - 1e-7)
        elif convention == "torch":
            return -(p * np.maximum(np.log(q), -100)).sum(axis=1), ones
        else:
            q = np.clip(q, EPS, 1 - EPS)
        return -(p * np.log(q)).sum(axis=1), ones
    # dense maps, ce:ignore_index=255: per image the sum over counted pixels and their number
    z, y = d.preds, d.labels
    log_p = z - logsumexp(z, axis=1, keepdims=True)
    counted = y != int(kw["ignore_index"])
    safe = np.where(counted, y, 0)
    nll = -np.take_along_axis(log_p, safe[:, None], axis=1)[:, 0] * counted
    return nll.reshape(len(y), -1).sum(axis=1), counted.reshape(len(y), -1).sum(axis=1) * 1.0


@dataclass
class Estimate:
    value: float
    std: float
    low: float
    high: float
    own: np.ndarray  # each sample's own loss (the worst-rows column)


def estimate(spec: str, d: Data, convention: str = "losscli", ci: str = "t") -> Estimate:
    v, w = per_sample(spec, d, convention)
    n = len(v)
    ratio = v.sum() / w.sum()
    # the ratio estimator's linearised std; the plain sample std when every weight is 1
    sd = math.sqrt(((v - ratio * w) ** 2).sum() / (n - 1)) / w.mean()
    if ci == "bootstrap":
        rng = np.random.default_rng(0)
        draws = rng.multinomial(n, np.full(n, 1 / n), size=20000)
        means = (draws @ v) / (draws @ w)
        low, high = np.percentile(means, [2.5, 97.5])
    else:
        half = stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n)
        low, high = max(ratio - half, 0.0), ratio + half  # cut to the loss's range [0, inf)
    own = v / w
    if spec.startswith("rmse"):
        return Estimate(
            math.sqrt(ratio),
            sd / (2 * math.sqrt(ratio)),
            math.sqrt(low),
            math.sqrt(high),
            np.sqrt(own),
        )
    return Estimate(ratio, sd, low, high, own)


# --------------------------------------------------------------------------- commands


@dataclass
class Command:
    name: str
    files: list[str]
    specs: list[str]
    options: dict[str, list[str]]
    flags: set[str]

    def option(self, key: str, default: str | None = None) -> str | None:
        return self.options.get(key, [default])[-1]


VALUED = {"--id-col", "--loss", "-l", "--top", "--convention", "--format", "-f", "--ci"}
VALUED |= {"--labels", "--max", "--min", "--group-by", "--slice-max", "--label-col"}
VALUED |= {"--baseline-preds", "--max-increase"}


def parse(cmd: str) -> Command:
    args = shlex.split(cmd)
    assert args[0] == "losscli"
    files: list[str] = []
    options: dict[str, list[str]] = {}
    flags: set[str] = set()
    i = 2
    while i < len(args):
        if args[i] in VALUED:
            key = {"-l": "--loss", "-f": "--format"}.get(args[i], args[i])
            options.setdefault(key, []).append(args[i + 1])
            i += 2
        elif args[i].startswith("-"):
            flags.add(args[i])
            i += 1
        else:
            files.append(args[i])
            i += 1
    return Command(args[1], files, options.get("--loss", []), options, flags)


def check_losses(table: Table, cmd: Command, d: Data) -> None:
    ci = cmd.option("--ci", "t") or "t"
    conventions = ["torch", "sklearn", "keras"] if cmd.option("--convention") == "all" else None
    expected = [
        (f"{s} [{c}]" if conventions else s, s, c)
        for s in cmd.specs
        for c in (conventions or ["losscli"])
    ]
    assert [r[0] for r in table.rows] == [e[0] for e in expected], table.rows
    ci_col = next(i for i, h in enumerate(table.header) if h.startswith("95%"))
    for row, (_, spec, convention) in zip(table.rows, expected, strict=True):
        est = estimate(spec, d, convention, ci)
        slack = d.slack(spec, est.value)
        assert agrees(row[table.column("value")], est.value, slack), (spec, row)
        assert int(row[table.column("n")]) == len(d.preds), (spec, row)
        assert agrees(row[table.column("std")], est.std), (spec, row)
        low, high = interval(row[ci_col])
        if ci == "bootstrap":  # Monte Carlo: 1% of the interval's width or the digits shown
            slack = 0.01 * (est.high - est.low)
            assert abs(float(low) - est.low) <= slack or agrees(low, est.low), (spec, row)
            assert abs(float(high) - est.high) <= slack or agrees(high, est.high), (spec, row)
        else:
            assert agrees(low, est.low) and agrees(high, est.high), (spec, row, est)


def predicted(d: Data, i: int) -> str:
    return d.classes[int(np.argmax(d.preds[i]))]


def p_true(d: Data, i: int) -> float:
    if d.task == "binary":
        return float(d.preds[i] if d.labels[i] == 1 else 1 - d.preds[i])
    log_p = d.preds[i] - logsumexp(d.preds[i])
    return float(np.exp(log_p[d.labels[i]]))


def check_worst(table: Table, cmd: Command, d: Data) -> None:
    own = {s: estimate(s, d).own for s in cmd.specs if f"{s}" in table.header}
    first = own[cmd.specs[0]]
    order = sorted(range(len(first)), key=lambda i: (-first[i], i))
    top = int(cmd.option("--top", "10") or 10)
    assert len(table.rows) == min(top, len(first))
    for row, i in zip(table.rows, order, strict=False):
        cell = dict(zip(table.header, row, strict=True))
        if "id" in cell:
            assert d.ids is not None and cell["id"] == d.ids[i], (row, i)
        else:
            assert int(cell["row"]) == i, (row, i)
        if d.task == "multiclass":
            assert cell["label"] == d.classes[d.labels[i]]
            assert cell["prediction"] == predicted(d, i)
        elif d.task == "dense":
            counted = d.labels[i] != 255
            hits = (d.preds[i].argmax(axis=0) == d.labels[i])[counted]
            assert cell["label"] == f"{counted.sum()} px"
            assert cell["prediction"].startswith("pixel acc ")
            assert agrees(cell["prediction"].split()[-1], hits.mean())
        else:
            assert agrees(cell["label"], float(d.labels[i])), (row, i)
            assert agrees(cell["prediction"], float(d.preds[i])), (row, i)
        if "p(true)" in cell:
            assert agrees(cell["p(true)"], p_true(d, i)), (row, i)
        for spec, values in own.items():
            assert agrees(cell[spec], values[i]), (spec, row, i)


def check_by_class(table: Table, cmd: Command, d: Data) -> None:
    spec = cmd.specs[0]
    v, _ = per_sample(spec, d)
    frame = pd.DataFrame({"cls": d.labels, "v": v})
    groups = frame.groupby("cls")["v"].agg(["size", "mean", "sum"])
    assert [r[0] for r in table.rows] == d.classes
    for row in table.rows:
        g = groups.loc[d.classes.index(row[0])]
        assert int(row[table.column("n")]) == g["size"], row
        assert agrees(row[table.column(f"{spec} mean")], g["mean"]), row
        assert agrees(row[table.column("share")], g["sum"] / v.sum()), row


def slice_of(d: Data, cmd: Command, value: str) -> Data:
    """The rows of one slice of ``--group-by`` (one group column)."""
    column = cmd.option("--group-by")
    assert column is not None
    return d.subset(d.columns[column] == value)


def check_slices(table: Table, cmd: Command, d: Data) -> None:
    """Each slice's n, value, t interval and difference from the overall value, recomputed
    with pandas on that slice's rows; worst slice first."""
    spec = cmd.specs[0]
    overall = estimate(spec, d).value
    values = []
    for row in table.rows:
        cell = dict(zip(table.header, row, strict=True))
        part = slice_of(d, cmd, cell["slice"])
        est = estimate(spec, part)
        assert int(cell["n"].replace(",", "")) == len(part.preds)
        assert agrees(cell[spec], est.value), (cell, est)
        low, high = interval(cell["95% CI"])
        assert agrees(low, est.low) and agrees(high, est.high), (cell, est)
        assert agrees(cell["Δ overall"], est.value - overall)
        values.append(est.value)
    assert values == sorted(values, reverse=True)
    assert sum(int(r[table.column("n")].replace(",", "")) for r in table.rows) == len(d.preds)


def verify_compute(cmd: Command, output: str) -> int:
    d = load(cmd.files[0], cmd.files[1], cmd.option("--id-col"))
    fmt = cmd.option("--format", "table")
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(output)))
        for row, spec in zip(rows, cmd.specs, strict=True):
            est = estimate(spec, d)
            assert float(row["value"]) == pytest.approx(est.value, rel=1e-12)
            assert float(row["std"]) == pytest.approx(est.std, rel=1e-9)
            assert float(row["ci_low"]) == pytest.approx(est.low, rel=1e-9)
            assert float(row["ci_high"]) == pytest.approx(est.high, rel=1e-9)
            assert int(row["n"]) == len(d.preds)
        return len(rows)
    tables = markdown_tables(output) if fmt == "markdown" else rich_tables(output)
    for table in tables:
        if table.header[0] == "loss":
            if fmt == "markdown":  # same columns, the interval under "95% CI"
                table.header = ["loss", "value", "n", "std", "95% CI"]
            check_losses(table, cmd, d)
        elif table.title.startswith("Worst samples by"):
            check_worst(table, cmd, d)
        elif table.title == "By true class":
            check_by_class(table, cmd, d)
        elif table.title.startswith("Losses by "):
            check_slices(table, cmd, d)
        else:
            raise AssertionError(f"no oracle for the table {table.title!r}")
    return len(tables)


def _rule_value(cell: dict[str, str], cmd: Command, d: Data) -> tuple[float, float]:
    """(value, limit) of a check row: the overall loss, or one slice's (``ce [lang=de]``)."""
    m = re.fullmatch(r"(\S+) \[(\w+)=(.*)\]", cell["loss"])
    if m is None:
        limits = dict(x.split("=") for x in cmd.options.get("--max", []))
        return estimate(cell["loss"], d).value, float(limits[cell["loss"]])
    spec, value = m.group(1), m.group(3)
    limits = dict(x.split("=") for x in cmd.options.get("--slice-max", []))
    return estimate(spec, slice_of(d, cmd, value)).value, float(limits[spec])


def mde(se: float, df: float) -> float:
    """The MDE of a two-sided 5% t-test at 80% power: (t_0.975 + t_0.8)(df)·SE (SciPy)."""
    return float((stats.t.ppf(0.975, df) + stats.t.ppf(0.8, df)) * se)


def _rule_data(cell: dict[str, str], cmd: Command, d: Data) -> tuple[str, Data]:
    """The spec of a check row and its rows: all of them, or one slice's (``ce [lang=de]``)."""
    m = re.fullmatch(r"(\S+) \[(\w+)=(.*)\]", cell["loss"])
    return (cell["loss"], d) if m is None else (m.group(1), slice_of(d, cmd, m.group(3)))


def verify_check(cmd: Command, output: str) -> int:
    """Each rule's value, limit, margin, verdict and MDE; with ``--baseline-preds``, each
    increase's paired test (``ttest_1samp`` of the per-sample differences against the allowed
    increase) with Holm over the overall rows and, apart, over the slices' rows."""
    d = load(cmd.files[0], cmd.files[1], None)
    if cmd.option("--baseline-preds"):
        return verify_paired_check(cmd, output, d)
    (table,) = rich_tables(output)
    for row in table.rows:
        cell = dict(zip(table.header, row, strict=True))
        value, limit = _rule_value(cell, cmd, d)
        assert agrees(cell["value"], value) and agrees(cell["limit"], limit)
        assert agrees(cell["margin"], limit - value)
        assert cell["result"] == ("PASS" if value <= limit else "FAIL")
        est = estimate(*_rule_data(cell, cmd, d))
        n = len(est.own)
        assert agrees(cell["MDE (80%)"], mde(est.std / math.sqrt(n), n - 1)), cell
    for name, shown in re.findall(r"(\S+(?: \[[^\]]+\])?) = ([\d.]+) > max", output):
        assert agrees(shown, _rule_value({"loss": name}, cmd, d)[0])
    return 1


def verify_paired_check(cmd: Command, output: str, d: Data) -> int:
    old = load(cmd.option("--baseline-preds") or "", cmd.files[1], None)
    tolerance = cmd.option("--max-increase") or "0"
    assert "--significant" in cmd.flags and tolerance.endswith("%")
    rules, tested = rich_tables(output)
    families: dict[bool, list[tuple[float, str]]] = {False: [], True: []}
    for row, test in zip(rules.rows, tested.rows, strict=True):
        cell = dict(zip(rules.header, row, strict=True))
        t = dict(zip(tested.header, test, strict=True))
        assert t["loss"] == cell["loss"]
        spec, new_part = _rule_data(cell, cmd, d)
        old_part = _rule_data(cell, cmd, old)[1]
        a, b = estimate(spec, old_part).own, estimate(spec, new_part).own
        diff, n = b - a, len(a)
        allowed = float(tolerance.rstrip("%")) / 100 * a.mean()
        se = diff.std(ddof=1) / math.sqrt(n)
        half = stats.t.ppf(0.975, n - 1) * se
        assert agrees(cell["value"], b.mean()) and agrees(cell["limit"], a.mean() + allowed)
        assert agrees(t["baseline"], a.mean()) and agrees(t["increase"], diff.mean())
        low, high = interval(t["95% CI of the increase"])
        assert agrees(low, diff.mean() - half) and agrees(high, diff.mean() + half)
        assert agrees(cell["margin"], allowed - (diff.mean() - half))
        assert agrees(cell["MDE (80%)"], mde(se, n - 1))
        p = float(stats.ttest_1samp(diff, allowed).pvalue)
        assert agrees(t["p"], p)
        families["[" in cell["loss"]].append((p, t["p (Holm)"]))
        significant = diff.mean() - half > allowed
        assert t["significant"] == ("yes" if significant else "no")
        assert cell["result"] == ("FAIL" if significant else "PASS")
    for family in families.values():
        for (_, shown), adjusted in zip(family, holm([p for p, _ in family]), strict=True):
            assert agrees(shown, adjusted)
    return 2


def verify_compare(cmd: Command, output: str) -> int:
    labels, id_col = cmd.option("--labels"), cmd.option("--id-col")
    assert labels is not None
    models = [load(f, labels, id_col, cmd.option("--label-col")) for f in cmd.files]
    names = [Path(f).name for f in cmd.files]
    # pair by id: both joins are on the same labels file
    order = [np.argsort(m.ids) for m in models]
    own = {
        s: [estimate(s, m).own[o] for m, o in zip(models, order, strict=True)] for s in cmd.specs
    }
    ids = np.asarray(models[0].ids)[order[0]]
    values, paired, spread, *by_slice = rich_tables(output)
    for table in by_slice:
        assert table.title.startswith("Paired differences by "), table.title
        groups = models[0].columns[cmd.option("--group-by") or ""][order[0]]
        check_compare_slices(table, names, own, groups)
    for row in values.rows:
        cell = dict(zip(values.header, row, strict=True))
        means = [v.mean() for v in own[cell["loss"]]]
        for name, mean in zip(names, means, strict=True):
            assert agrees(cell[name], mean)
            assert cell[name].endswith("★") == (mean == min(means))
    for row in paired.rows:
        cell = dict(zip(paired.header, row, strict=True))
        a, b = own[cell["loss"]][0], own[cell["loss"]][names.index(cell["model"])]
        diff = b - a
        se = diff.std(ddof=1) / math.sqrt(len(diff))
        half = stats.t.ppf(0.975, len(diff) - 1) * se
        low, high = interval(cell["95% CI of Δ"])
        assert agrees(cell["Δ"], diff.mean())
        assert agrees(low, diff.mean() - half) and agrees(high, diff.mean() + half)
        assert agrees(cell["p"], stats.ttest_rel(b, a).pvalue)
        assert agrees(cell["better on"], (diff < 0).mean())
        assert agrees(cell["worse on"], (diff > 0).mean())
    first = own[cmd.specs[0]]
    gap = np.abs(first[1] - first[0])
    top = sorted(range(len(gap)), key=lambda i: (-gap[i], ids[i]))
    for row, i in zip(spread.rows, top, strict=False):
        cell = dict(zip(spread.header, row, strict=True))
        assert cell.get("id", cell.get("row")) == ids[i]
        for name, v in zip(names, first, strict=True):
            assert agrees(cell[name], v[i])
        assert agrees(cell["spread"], gap[i])
    return 3


def check_compare_slices(
    table: Table, names: list[str], own: dict[str, list[np.ndarray]], groups: np.ndarray
) -> None:
    """compare --group-by: a pandas group-by of the per-sample differences (losses from
    scikit-learn/NumPy above): per slice n, both means, the mean difference with its paired
    t interval, ``scipy.stats.ttest_rel``'s p and Holm over every row; worst first."""
    expected = []
    for row in table.rows:
        cell = dict(zip(table.header, row, strict=True))
        a, b = own[cell["loss"]][0], own[cell["loss"]][names.index(cell["model"])]
        frame = pd.DataFrame({"slice": groups, "a": a, "b": b, "d": b - a})
        g = frame[frame["slice"] == cell["slice"]]
        n = len(g)
        se = g["d"].std(ddof=1) / math.sqrt(n)
        half = stats.t.ppf(0.975, n - 1) * se
        assert int(cell["n"].replace(",", "")) == n
        assert agrees(cell["baseline"], g["a"].mean()) and agrees(cell["candidate"], g["b"].mean())
        assert agrees(cell["Δ"], g["d"].mean())
        low, high = interval(cell["95% CI of Δ"])
        assert agrees(low, g["d"].mean() - half) and agrees(high, g["d"].mean() + half)
        p = float(stats.ttest_rel(g["b"], g["a"]).pvalue)
        assert agrees(cell["p"], p)
        expected.append((p, cell["p (Holm)"], g["d"].mean()))
    for (_, shown, _), adjusted in zip(expected, holm([e[0] for e in expected]), strict=True):
        assert agrees(shown, adjusted)
    diffs = [e[2] for e in expected]
    assert diffs == sorted(diffs, reverse=True)  # worst-regressing slice first
    sizes = frame.groupby("slice").size()
    assert sorted(r[table.column("slice")] for r in table.rows) == sorted(sizes.index)


def verify_explain(cmd: Command, output: str) -> int:
    """The article's numbers quoted by ``explain hinge``: sklearn hinge_loss of the seed
    scores, and torch HingeEmbeddingLoss's formula (x for y = 1, max(0, 1 − x) for y = −1,
    both terms for y = 0 as torch computes them) on the same scores with labels 0/1."""
    assert cmd.files == ["hinge"]
    scores = pd.read_csv(ROOT / "sample_data/seed_scores.csv")["score"].to_numpy()
    y = pd.read_csv(ROOT / "sample_data/seed_labels.csv")["label"].to_numpy()
    embedding = np.where(y != -1, scores, 0) + np.where(y != 1, np.maximum(0, 1 - scores), 0)
    m = re.search(r"returns (\S+)\. The SVM hinge of its example is (\S+)\.", output)
    assert m, output
    assert agrees(m.group(1), embedding.mean())
    assert agrees(m.group(2), hinge_loss(y, scores))
    return 1


VERIFY: dict[str, Callable[[Command, str], int]] = {
    "compute": verify_compute,
    "check": verify_check,
    "compare": verify_compare,
    "explain": verify_explain,
}


def snapshots() -> list[Any]:
    from test_golden import CASES, GOLDEN

    found = [
        pytest.param(m.group("cmd"), m.group("out"), id=f"README-{i}")
        for i, m in enumerate(GALLERY.finditer((ROOT / "README.md").read_text()))
    ]
    for name, args in CASES.items():
        text = (GOLDEN / f"{name}.txt").read_text()
        found.append(pytest.param(shlex.join(["losscli", *args]), text, id=f"golden-{name}"))
    return found


@pytest.mark.parametrize(("cmd", "output"), snapshots())
def test_snapshot_numbers_recomputed(cmd: str, output: str) -> None:
    command = parse(cmd)
    if "error:" in output and "unknown loss" in output:
        assert command.specs, "an error snapshot of a mistyped loss shows no computed number"
        return
    checked = VERIFY[command.name](command, output)
    assert checked >= 1, f"no table found in the output of {cmd}"


def test_the_oracle_sees_a_wrong_number() -> None:
    """The checks are not vacuous: a number off in its last shown digit fails."""
    assert agrees("0.8", 0.8) and agrees("0.1366666667", 0.41 / 3)
    assert not agrees("0.2", 0.8)
    assert not agrees("0.1366666668", 0.41 / 3)
    assert agrees("17.2%", 0.1719) and not agrees("17.3%", 0.1719)
    assert mean_squared_error([1, 0, 1], [0.9, 0.2, 0.4]) == pytest.approx(0.41 / 3)
    assert log_loss([1, 0, 1], [0.9, 0.2, 0.4]) == pytest.approx(0.4149315996, abs=1e-10)
