"""``compare`` and ``check --baseline-preds`` with ``--test t|bootstrap|permutation``: the
paired bootstrap and approximate randomization, Holm's adjustment, the minimum detectable
effect (MDE) beside each rule.

Oracles: scipy.stats (1.17, the test extra): ``bootstrap(..., paired=True)``,
``permutation_test(permutation_type="samples")``, ``norm.ppf`` and ``t.ppf``; replicates
recomputed with plain NumPy from ``Resampler.matrix``; Holm's adjustment by hand.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import CLI_ENV, ROOT
from scipy import stats as scipy_stats
from typer.testing import Result

import losscli
from losscli.ci import paired
from losscli.ci.checks import Baseline, Rules, Tolerance, evaluate_rules
from losscli.ci.compare import Difference
from losscli.ci.paired import BOOTSTRAP, PERMUTATION, paired_test
from losscli.engine.resample import Draw, Resampler
from losscli.errors import UsageError
from losscli.losses import Reduce
from losscli.stats import detectable, holm

BOOT = paired.TestMethod.BOOTSTRAP
PERM = paired.TestMethod.PERMUTATION

# --------------------------------------------------------------------------- Holm and MDE


def test_holm_by_hand() -> None:
    # sorted 0.01, 0.03, 0.04 (m = 3): 3·0.01 = 0.03; 2·0.03 = 0.06; max(0.06, 1·0.04) = 0.06
    out = holm([0.01, 0.04, 0.03, math.nan])
    assert out[:3] == pytest.approx([0.03, 0.06, 0.06])
    assert math.isnan(out[3])
    assert holm([0.6, 0.9]) == [1.0, 1.0]  # capped at 1
    assert holm([]) == []


def test_mde_is_the_sum_of_the_two_quantiles_times_se() -> None:
    z = scipy_stats.norm.ppf(0.975) + scipy_stats.norm.ppf(0.8)  # 1.95996 + 0.84162
    assert detectable(1.0) == pytest.approx(z, rel=1e-9)
    t = scipy_stats.t.ppf(0.975, 10) + scipy_stats.t.ppf(0.8, 10)
    assert detectable(0.5, 10) == pytest.approx(0.5 * t, rel=1e-9)
    assert math.isnan(detectable(math.nan))


# --------------------------------------------------------------------------- the tests


def _pair(n: int, seed: int, shift: float) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.exponential(size=n)
    return a, np.maximum(a + rng.normal(shift, 0.5, size=n), 0.0)


def test_paired_bootstrap_is_the_difference_on_shared_resamples() -> None:
    a, b = _pair(300, 1, 0.05)
    keys = np.arange(300)
    testing = paired.Testing(BOOT, 500, 3)
    d = paired_test(keys, (a, None), (b, None), Reduce.MEAN, testing)
    w = Resampler(500, 3).matrix(keys.astype(np.uint64))
    reps = (w @ b) / w.sum(axis=1) - (w @ a) / w.sum(axis=1)
    low, high = np.quantile(reps, [0.025, 0.975])
    assert (d.ci_low, d.ci_high) == pytest.approx((low, high), rel=1e-10)
    assert d.diff == pytest.approx(b.mean() - a.mean(), rel=1e-12)
    assert d.method == BOOTSTRAP
    # p of H0 "difference = 0": 2·min(#{Δ_b ≤ 0} + 1, #{Δ_b ≥ 0} + 1) / (B + 1)
    p = min(1.0, 2 * min((reps <= 0).sum() + 1, (reps >= 0).sum() + 1) / 501)
    assert d.test(0.0).p_value == pytest.approx(p)
    assert d.se == pytest.approx(np.std(reps, ddof=1), rel=1e-10)


def test_paired_bootstrap_interval_agrees_with_scipys() -> None:
    a, b = _pair(200, 2, 0.1)
    d = paired_test(
        np.arange(200),
        (a, None),
        (b, None),
        Reduce.MEAN,
        paired.Testing(BOOT, 20000),
    )
    res = scipy_stats.bootstrap(
        (b, a),
        lambda x, y, axis: np.mean(x, axis=axis) - np.mean(y, axis=axis),
        paired=True,
        method="percentile",
        n_resamples=20000,
        random_state=0,
    ).confidence_interval
    width = res.high - res.low
    # The ends of a skewed difference carry Monte Carlo noise: scipy's own upper end moves by
    # 1.2% of the width between two random states here, and Poisson vs multinomial resampling
    # differ by O(1/n). 6% of the width bounds both, while ignoring the pairing (resampling
    # each model on its own) would nearly triple its width here.
    assert d.ci_low == pytest.approx(res.low, abs=0.06 * width)
    assert d.ci_high == pytest.approx(res.high, abs=0.06 * width)


@pytest.mark.parametrize(("n", "shift"), [(10, 0.3), (60, 0.1)])
def test_permutation_p_value_estimates_scipys(n: int, shift: float) -> None:
    a, b = _pair(n, 3, shift)
    reps = 20000
    exact = scipy_stats.permutation_test(
        (b, a),
        lambda x, y, axis: np.mean(x - y, axis=axis),
        permutation_type="samples",
        n_resamples=math.inf if n <= 16 else 200_000,
        random_state=0,
    ).pvalue  # every sign pattern for n = 10; 200000 random ones for n = 60
    d = paired_test(
        np.arange(n),
        (a, None),
        (b, None),
        Reduce.MEAN,
        paired.Testing(PERM, reps),
    )
    assert d.method == PERMUTATION
    p = d.test(0.0).p_value
    # p = 2·(tail count + 1)/(B + 1): its Monte Carlo SE is 2·sqrt(q(1 − q)/B) with q = p/2;
    # 4 SE plus the +1 correction.
    q = exact / 2
    assert p == pytest.approx(exact, abs=8 * math.sqrt(q * (1 - q) / reps) + 2 / reps)


def test_permutation_null_replicates_are_explicit_sign_flips() -> None:
    a, b = _pair(50, 4, 0.0)
    keys = np.arange(50)
    d = paired_test(
        keys,
        (a, None),
        (b, None),
        Reduce.SQRT_MEAN,
        paired.Testing(PERM, 300, 9),
    )
    s = Resampler(300, 9, Draw.SIGNS).matrix(keys.astype(np.uint64))
    # s = +1 keeps the pair, -1 swaps it: model B's terms become (a + b)/2 + s·(b - a)/2
    mid, half = (a + b) / 2, (b - a) / 2
    null = np.sqrt((mid + s * half).mean(axis=1)) - np.sqrt((mid - s * half).mean(axis=1))
    assert d.null is not None
    np.testing.assert_allclose(d.null, null, rtol=1e-10, atol=1e-14)
    observed = math.sqrt(b.mean()) - math.sqrt(a.mean())
    assert d.diff == pytest.approx(observed, rel=1e-12)
    q_low, q_high = np.quantile(null, [0.025, 0.975])
    assert (d.ci_low, d.ci_high) == pytest.approx((observed - q_high, observed - q_low))


def test_t_stays_the_paired_t_test() -> None:
    a, b = _pair(40, 5, 0.2)
    d = paired_test(np.arange(40), (a, None), (b, None), Reduce.MEAN, paired.Testing())
    ref = scipy_stats.ttest_rel(b, a)
    assert d.test(0.0).p_value == pytest.approx(ref.pvalue, rel=1e-8)
    assert d.mde == pytest.approx(
        (scipy_stats.t.ppf(0.975, 39) + scipy_stats.t.ppf(0.8, 39))
        * np.std(b - a, ddof=1)
        / 40**0.5
    )


def test_testing_settings_are_checked() -> None:
    with pytest.raises(UsageError, match="--test must be one of t, bootstrap, permutation"):
        paired.Testing.of("wilcoxon")
    with pytest.raises(UsageError, match="--bootstrap-samples"):
        paired.Testing.of("bootstrap", 0)
    assert paired.Testing.of(None) == paired.Testing()


# --------------------------------------------------------------------------- check's rules


def _result(loss: str, value: float, n: int = 100, std: float = 1.0) -> losscli.LossResult:
    base = losscli.compute("mse", [0.0, 1.0], [0.0, 0.0])
    return replace(base, loss=loss, value=value, n=n, std=std)


def _diff(p: float, se: float = 0.01) -> Difference:
    """A t-based increase whose two-sided p-value against 0 is ``p`` (df = ∞)."""
    z = scipy_stats.norm.isf(p / 2)
    diff = z * se
    half = scipy_stats.norm.ppf(0.975) * se
    return Difference(diff, se, math.inf, diff - half, diff + half, 100, "paired t")


def test_holm_keeps_a_gate_from_failing_on_two_borderline_losses() -> None:
    results = [_result("ce", 0.5 + _diff(0.03).diff), _result("mse", 0.2 + _diff(0.04).diff)]
    baseline = {"ce": Baseline("ce", 0.5, 100, 1.0), "mse": Baseline("mse", 0.2, 100, 1.0)}
    rules = Rules({}, {"*": Tolerance(0.0, False, "0")}, significant=True)
    differences = {"ce": _diff(0.03), "mse": _diff(0.04)}
    outcomes = evaluate_rules(results, rules, baseline, differences)
    # raw p 0.03 and 0.04 are each below 5%; Holm makes both 0.06 (see test_holm_by_hand)
    assert [o.test.p_value for o in outcomes if o.test] == pytest.approx([0.03, 0.04])
    assert [o.test.p_holm for o in outcomes if o.test] == pytest.approx([0.06, 0.06])
    assert all(o.passed for o in outcomes)
    alone = evaluate_rules(results[:1], rules, baseline, {"ce": _diff(0.03)})
    assert not alone[0].passed  # one loss: no adjustment, significant at 5%
    assert alone[0].mde == pytest.approx(detectable(0.01))


# --------------------------------------------------------------------------- the CLI

IMAGES = [
    "sample_data/images_logits.csv",
    "sample_data/images_logits_v2.csv",
    "--labels",
    "sample_data/images_labels.csv",
    "--id-col",
    "image_id",
    "--loss",
    "ce",
    "--loss",
    "hinge",
    "--top",
    "0",
]


@pytest.mark.parametrize("test", ["bootstrap", "permutation"])
def test_compare_resampled_tests_are_chunk_invariant(
    run_cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch, test: str
) -> None:
    monkeypatch.chdir(ROOT)

    def doc(chunk: int) -> dict:
        args = ["compare", *IMAGES, "--test", test, "--seed", "3", "--bootstrap-samples", "400"]
        result = run_cli([*args, "--chunk-rows", str(chunk), "--format", "json"])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    whole = doc(10**6)
    assert whole["test"] == test and whole["seed"] == 3 and whole["bootstrap_samples"] == 400
    for chunk in (7, 1000):
        for mine, theirs in zip(doc(chunk)["losses"], whole["losses"], strict=True):
            x, y = mine["vs_first"][1], theirs["vs_first"][1]
            # the resampled statistics are identical; the point estimate (the engine's sum
            # over chunks) may differ in its last bit, and the permutation interval is
            # centred on it
            for key in ("se", "p_value", "p_holm", "mde"):
                assert x[key] == y[key], key
            for key in ("diff", "ci_low", "ci_high"):
                assert x[key] == pytest.approx(y[key], rel=1e-13)
            if test == "bootstrap":
                assert (x["ci_low"], x["ci_high"]) == (y["ci_low"], y["ci_high"])
    diffs = [loss["vs_first"][1] for loss in whole["losses"]]
    ps = [d["p_value"] for d in diffs]
    assert [d["p_holm"] for d in diffs] == pytest.approx(holm(ps))
    assert all(d["ci_low"] < d["diff"] < d["ci_high"] < 0 for d in diffs)
    assert all(d["mde"] > 0 for d in diffs)


def test_compare_table_names_the_test_and_holm(
    run_cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    result = run_cli(["compare", *IMAGES, "--test", "permutation"])
    assert result.exit_code == 0, result.output
    assert "paired approximate randomization (sign flips)" in result.stdout
    assert "p (Holm)" in result.stdout
    bad = run_cli(["compare", *IMAGES, "--test", "sign"])
    assert bad.exit_code == 2 and bad.stdout == ""


CHECK = [
    "check",
    "sample_data/images_logits.csv",
    "sample_data/images_labels.csv",
    "--id-col",
    "image_id",
    "--loss",
    "ce",
    "--loss",
    "hinge",
    "--significant",
]


def test_check_with_a_resampled_test_and_mde(
    run_cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    base = ["--baseline-preds", "sample_data/images_logits_v2.csv"]
    result = run_cli([*CHECK, *base, "--test", "bootstrap", "--format", "json"])
    assert result.exit_code == 1, result.output  # v1 is significantly worse than v2
    doc = json.loads(result.stdout)
    assert (doc["test"], doc["bootstrap_samples"], doc["seed"]) == ("bootstrap", 1000, 12345)
    for rule in doc["rules"]:
        assert rule["test"]["method"] == BOOTSTRAP
        assert rule["test"]["p_holm"] >= rule["test"]["p_value"]
        assert rule["mde"] > 0
    table = run_cli([*CHECK, *base, "--test", "bootstrap"])
    assert "MDE (80%)" in table.stdout and "p (Holm)" in table.stdout


def test_check_mde_of_a_ceiling_on_the_n3_example(
    run_cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    seed = ["sample_data/seed_preds.csv", "sample_data/seed_labels.csv"]
    result = run_cli(["check", *seed, "--loss", "mse", "--max", "mse=0.2", "--format", "json"])
    assert result.exit_code == 0, result.output
    rule = json.loads(result.stdout)["rules"][0]
    # per-sample mse 0.01, 0.04, 0.36: std 0.1940, n = 3, t quantiles with 2 df
    sd = np.std([0.01, 0.04, 0.36], ddof=1)
    mde = (scipy_stats.t.ppf(0.975, 2) + scipy_stats.t.ppf(0.8, 2)) * sd / math.sqrt(3)
    assert rule["mde"] == pytest.approx(mde, rel=1e-9)  # 0.6007: far above the 0.063 margin
    assert rule["passed"] and rule["margin"] < rule["mde"]


def test_check_resampled_test_needs_baseline_predictions(
    run_cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(ROOT)
    baseline = tmp_path / "base.json"
    made = run_cli(["compute", *CHECK[1:3], "--id-col", "image_id", "-l", "ce", "-f", "json"])
    baseline.write_text(made.stdout)
    result = run_cli([*CHECK[:7], "--baseline", str(baseline), "--test", "permutation"])
    assert result.exit_code == 2
    assert "give --baseline-preds OLD" in result.stderr


def _env() -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if k not in CLI_ENV}
    env.update({k: v for k, v in CLI_ENV.items() if v is not None})
    return env


def test_installed_entry_point_compare_and_check_tests() -> None:
    exe = str(Path(sys.executable).parent / "losscli")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [exe, *args], capture_output=True, text=True, cwd=ROOT, env=_env(), timeout=60
        )

    proc = run("compare", *IMAGES, "--test", "bootstrap", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["method"] == BOOTSTRAP
    bad = run(*CHECK, "--baseline-preds", "sample_data/images_logits_v2.csv", "--test", "x")
    assert bad.returncode == 2 and bad.stdout == "" and "--test" in bad.stderr
