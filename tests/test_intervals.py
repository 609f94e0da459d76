"""``--ci t|bootstrap``, ``--bootstrap-samples``, ``--seed``: intervals in the loss's range,
the same for any chunk size, equal to percentiles of explicitly drawn Poisson replicates.

Expected values: the t quantile from scipy.stats.t (SciPy 1.17, the test extra); bootstrap
replicates recomputed here from ``Resampler.matrix`` (the weights themselves are checked
against scipy.stats.poisson in test_resample.py) with plain NumPy sums and ``np.quantile``.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import CLI_ENV, ROOT
from scipy import stats as scipy_stats
from typer.testing import Result

import losscli
from losscli.api import compute_files
from losscli.engine.intervals import CiMethod, Intervals
from losscli.engine.resample import Resampler
from losscli.engine.signature import differences, parse_signature
from losscli.errors import UsageError
from losscli.interpret.plan import Options

SEED_FILES = [ROOT / "sample_data/seed_preds.csv", ROOT / "sample_data/seed_labels.csv"]
# log loss of the article's example per sample (preds 0.9, 0.2, 0.4; labels 1, 0, 1): minus the
# log of the probability given to the truth, -log 0.9, -log 0.8, -log 0.4
SEED_CE = np.array([-math.log(0.9), -math.log(0.8), -math.log(0.4)])
BOOT = Intervals(CiMethod.BOOTSTRAP, 400, 7)


def quantiles(replicates: np.ndarray) -> tuple[float, float]:
    finite = replicates[np.isfinite(replicates)]
    lo, hi = np.quantile(finite, [0.025, 0.975])
    return float(lo), float(hi)


# --------------------------------------------------------------------------- the n = 3 example


def test_n3_example_default_interval_is_t_cut_at_zero() -> None:
    r = compute_files(*SEED_FILES, ["ce"], Options())
    mean, sd = SEED_CE.mean(), SEED_CE.std(ddof=1)
    half = scipy_stats.t.ppf(0.975, 2) * sd / math.sqrt(3)
    assert mean - half < 0  # the plain t interval would leave [0, ∞): -0.6735
    assert r.results[0].ci_low == 0.0
    assert r.results[0].ci_high == pytest.approx(mean + half, rel=1e-10)  # 1.503394872


def test_n3_example_bootstrap_interval_is_inside_the_data() -> None:
    r = compute_files(*SEED_FILES, ["ce"], Options(), intervals=Intervals(CiMethod.BOOTSTRAP))
    low, high = r.results[0].ci_low, r.results[0].ci_high
    assert SEED_CE.min() <= low <= r.results[0].value <= high <= SEED_CE.max()
    w = Resampler().matrix(np.arange(3, dtype=np.uint64))  # default B = 1000, seed 12345
    with np.errstate(invalid="ignore"):  # resamples drawing no sample at all are left out
        means = (w @ SEED_CE) / w.sum(axis=1)
    assert (low, high) == pytest.approx(quantiles(means), rel=1e-12)


def test_a_loss_that_can_be_negative_keeps_its_t_interval() -> None:
    # gaussian_nll is negative where the variance is small and the mean right
    preds = np.column_stack([[0.0, 1.0, 2.0, 3.0], [0.01, 0.02, 0.01, 5.0]])
    r = losscli.compute("gaussian_nll", preds, [0.0, 1.1, 2.0, 3.0])
    assert r.ci_low < 0


def test_kl_of_unnormalised_keras_rows_keeps_its_negative_value_inside_the_interval(
    write, run_cli
) -> None:
    # Keras' KLDivergence clips p and q to [1e-7, 1] and sums p log(p / q) without
    # renormalising q. By hand: q = (1, 0.5) after the clip, p = (0.4, 0.6):
    # 0.4 log 0.4 + 0.6 log 1.2 = -0.257123; q = (0.3, 0.7), p = (0.5, 0.5):
    # 0.5 log(5/3) + 0.5 log(5/7) = 0.087177; mean -0.084973 (it was shown with [0, 2.102]).
    preds = write("q.npy", [[2.0, 0.5], [0.3, 0.7]])
    labels = write("p.npy", [[0.4, 0.6], [0.5, 0.5]])
    args = ["compute", preds, labels, "--loss", "kl", "--convention", "keras", "--probs"]
    result = run_cli([*args, "--format", "json"])
    assert result.exit_code == 0, result.stderr
    r = json.loads(result.stdout)["results"][0]
    rows = [
        0.4 * math.log(0.4) + 0.6 * math.log(1.2),
        0.5 * math.log(5 / 3) + 0.5 * math.log(5 / 7),
    ]
    assert r["value"] == pytest.approx(sum(rows) / 2, rel=1e-12)
    assert r["ci_low"] <= r["value"] <= r["ci_high"]


# --------------------------------------------------------------------------- the replicates


@pytest.fixture(scope="module")
def regression_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    n = 2503
    folder = tmp_path_factory.mktemp("regression")
    preds, labels = folder / "p.csv", folder / "y.csv"
    preds.write_text("pred\n" + "\n".join(repr(float(x)) for x in rng.normal(size=n)) + "\n")
    labels.write_text("y\n" + "\n".join(repr(float(x)) for x in rng.normal(size=n) * 2) + "\n")
    return preds, labels


def _values(files: tuple[Path, Path]) -> np.ndarray:
    p = np.loadtxt(files[0], skiprows=1)
    y = np.loadtxt(files[1], skiprows=1)
    return (p - y) ** 2


def test_bootstrap_intervals_are_percentiles_of_poisson_replicates(
    regression_files: tuple[Path, Path],
) -> None:
    v = _values(regression_files)
    w = Resampler(BOOT.samples, BOOT.seed).matrix(np.arange(len(v), dtype=np.uint64))
    mean_b = (w @ v) / w.sum(axis=1)
    expected = {
        ("mse", "mean"): quantiles(mean_b),
        ("rmse", "mean"): quantiles(np.sqrt(mean_b)),
        ("mse", "sum"): quantiles(len(v) * mean_b),  # n held fixed, as the t interval holds it
    }
    for (loss, reduction), want in expected.items():
        r = compute_files(*regression_files, [loss], Options(), reduction=reduction, intervals=BOOT)
        assert (r.results[0].ci_low, r.results[0].ci_high) == pytest.approx(want, rel=1e-10)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_same_interval_for_chunks_of_7_1000_and_the_whole_file(
    regression_files: tuple[Path, Path], reduction: str
) -> None:
    losses = ["mse", "mae"] + (["rmse"] if reduction == "mean" else [])

    def cis(chunk: int) -> list[tuple[float, float]]:
        r = compute_files(
            *regression_files,
            losses,
            Options(),
            reduction=reduction,
            chunk_rows=chunk,
            intervals=BOOT,
        )
        return [(x.ci_low, x.ci_high) for x in r.results]

    whole = cis(10**7)
    assert cis(7) == whole  # exactly: the sums run over the same blocks in the same order
    assert cis(1000) == whole


def _class_files(tmp: Path, order: np.ndarray) -> tuple[Path, Path]:
    rng = np.random.default_rng(4)
    n = 1500
    z = rng.normal(size=(n, 3)) * 2
    y = rng.integers(0, 3, n)
    ids = [f"s{i:05d}" for i in range(n)]
    preds = tmp / f"p{order[0]}.csv"
    labels = tmp / "y.csv"
    rows = ["id,a,b,c"] + [f"{ids[i]}," + ",".join(repr(float(x)) for x in z[i]) for i in order]
    preds.write_text("\n".join(rows) + "\n")
    labels.write_text("id,label\n" + "".join(f"{ids[i]},{'abc'[y[i]]}\n" for i in range(n)))
    return preds, labels


def test_per_class_intervals_are_chunk_invariant_and_id_keyed(tmp_path: Path) -> None:
    n = 1500
    straight = _class_files(tmp_path, np.arange(n))
    shuffled = _class_files(tmp_path, np.random.default_rng(1).permutation(n))
    options = Options(id_col="id")

    def run(files: tuple[Path, Path], chunk: int) -> Any:
        return compute_files(
            *files, ["ce"], options, by_class=True, chunk_rows=chunk, intervals=BOOT
        )

    whole = run(straight, 10**7)
    for chunk in (7, 1000):
        other = run(straight, chunk)
        assert [(c.ci_low, c.ci_high) for c in other.by_class] == [
            (c.ci_low, c.ci_high) for c in whole.by_class
        ]
        assert other.results[0].ci_low == whole.results[0].ci_low
    # With ids, a sample's weights follow its id: another row order draws the same resamples
    # (summed in another order, so equal up to rounding).
    moved = run(shuffled, 10**7)
    assert moved.results[0].ci_low == pytest.approx(whole.results[0].ci_low, rel=1e-12)
    for a, b in zip(moved.by_class, whole.by_class, strict=True):
        assert a.ci_low == pytest.approx(b.ci_low, rel=1e-12)
        assert a.ci_low[0] <= a.mean[0] <= a.ci_high[0]


def test_per_class_interval_is_the_classs_own_bootstrap() -> None:
    rng = np.random.default_rng(2)
    z, y = rng.normal(size=(300, 2)) * 2, rng.integers(0, 2, 300)
    y[0], y[1] = 0, 1
    from losscli.api import parse_specs, run
    from losscli.io.readers import array_source

    report = run(
        array_source("preds", z),
        array_source("labels", y),
        parse_specs(["ce"], "mean"),
        Options(kind=losscli.interpret.plan.Kind.LOGITS),
        by_class=True,
        intervals=BOOT,
    )
    nll = np.logaddexp.reduce(z, axis=1) - z[np.arange(300), y]
    w = Resampler(BOOT.samples, BOOT.seed).matrix(np.arange(300, dtype=np.uint64))
    for c, row in enumerate(report.by_class):
        sel = y == c
        want = quantiles((w[:, sel] @ nll[sel]) / w[:, sel].sum(axis=1))
        assert (row.ci_low[0], row.ci_high[0]) == pytest.approx(want, rel=1e-10)


def test_seeds_and_replicates_change_the_draws(regression_files: tuple[Path, Path]) -> None:
    def ci(intervals: Intervals) -> tuple[float, float]:
        r = compute_files(*regression_files, ["mae"], Options(), intervals=intervals)
        return r.results[0].ci_low, r.results[0].ci_high

    base = ci(BOOT)
    assert ci(BOOT) == base
    assert ci(Intervals(CiMethod.BOOTSTRAP, 400, 8)) != base
    assert ci(Intervals(CiMethod.BOOTSTRAP, 401, 7)) != base


def test_bad_settings_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="--ci must be one of t, bootstrap"):
        Intervals.of("bca")
    with pytest.raises(UsageError, match="--bootstrap-samples must be at least 1"):
        Intervals.of("bootstrap", 0)
    with pytest.raises(UsageError, match="--seed"):
        Intervals.of("bootstrap", 10, -1)
    with pytest.raises(UsageError, match="--ci"):
        losscli.compute("mse", [1.0, 2.0], [1.0, 1.0], ci="normal")


# --------------------------------------------------------------------------- the CLI


SEED_ARGS = ["sample_data/seed_preds.csv", "sample_data/seed_labels.csv", "--loss", "ce"]


def test_cli_bootstrap_json_records_method_samples_and_seed(
    run_cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    args = ["compute", *SEED_ARGS, "--ci", "bootstrap", "--bootstrap-samples", "300"]
    result = run_cli([*args, "--seed", "5", "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["ci"] == {"method": "bootstrap", "level": 0.95, "bootstrap_samples": 300, "seed": 5}
    ce = doc["results"][0]
    assert SEED_CE.min() <= ce["ci_low"] <= ce["ci_high"] <= SEED_CE.max()
    # the signature names the draws; they never make two values incomparable
    assert "|ci:bootstrap(b=300,seed=5)|" in ce["signature"]
    t_doc = json.loads(run_cli(["compute", *SEED_ARGS, "--format", "json"]).stdout)
    t_sig = t_doc["results"][0]["signature"]
    assert "ci:" not in t_sig
    assert differences(parse_signature(t_sig), parse_signature(ce["signature"])) == []
    again = json.loads(run_cli([*args, "--seed", "5", "--format", "json"]).stdout)
    assert again["results"][0]["ci_low"] == ce["ci_low"]
    table = run_cli([*args, "--top", "0"])
    assert "95% bootstrap CI" in table.stdout
    default = json.loads(run_cli(["compute", *SEED_ARGS, "--format", "json"]).stdout)
    assert default["ci"] == {"method": "t", "level": 0.95, "bootstrap_samples": None, "seed": None}
    assert default["results"][0]["ci_low"] == 0.0


def test_cli_by_class_bootstrap_table(
    run_cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    args = ["compute", "sample_data/images_logits.csv", "sample_data/images_labels.csv"]
    opts = ["--id-col", "image_id", "-l", "ce", "--by-class", "--ci", "bootstrap"]
    result = run_cli([*args, *opts])
    assert result.exit_code == 0, result.output
    assert result.stdout.count("95% CI") == 1 and "95% bootstrap CI" in result.stdout
    doc = json.loads(
        run_cli(
            [
                *args,
                "--id-col",
                "image_id",
                "-l",
                "ce",
                "--by-class",
                "--ci",
                "bootstrap",
                "-f",
                "json",
            ]
        ).stdout
    )
    fish = next(c for c in doc["by_class"] if c["class"] == "fish")["losses"]["ce"]
    assert fish["ci_low"] <= fish["mean"] <= fish["ci_high"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--ci", "bca"], "'bca' is not one of 't', 'bootstrap'"),
        (["--bootstrap-samples", "0"], "Invalid value for '--bootstrap-samples'"),
        (["--seed", "-3"], "Invalid value for '--seed'"),
    ],
)
def test_cli_bad_interval_options_exit_2(
    run_cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch, extra: list[str], message: str
) -> None:
    monkeypatch.chdir(ROOT)
    result = run_cli(["compute", *SEED_ARGS, *extra])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert message in " ".join(result.stderr.split())


def _env() -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if k not in CLI_ENV}
    env.update({k: v for k, v in CLI_ENV.items() if v is not None})
    return env


def test_installed_entry_point_bootstrap_and_error() -> None:
    exe = Path(sys.executable).parent / "losscli"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(exe), *args], capture_output=True, text=True, cwd=ROOT, env=_env(), timeout=60
        )

    proc = run("compute", *SEED_ARGS, "--ci", "bootstrap", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["ci"]["seed"] == 12345 and doc["ci"]["bootstrap_samples"] == 1000
    assert 0 <= doc["results"][0]["ci_low"] <= doc["results"][0]["ci_high"]
    default = json.loads(run("compute", *SEED_ARGS, "--format", "json").stdout)
    assert default["results"][0]["ci_low"] == 0.0
    bad = run("compute", *SEED_ARGS, "--bootstrap-samples", "0")
    assert bad.returncode == 2 and bad.stdout == "" and "--bootstrap-samples" in bad.stderr
