"""CI rules for ``losscli check``: ceilings and regressions, as pure functions over results.

Two kinds of rule, each about one loss (named by its spec as written in ``--loss``):

- ``max``: the value must be at most a ceiling (``--max ce=0.35``);
- ``max_increase``: the value may exceed the baseline's by at most a tolerance, absolute
  (``0.01``) or relative to the baseline value (``2%``), for every loss or per loss
  (``--max-increase ce=2%``). With ``significant``, the rule fails only when the increase
  beyond the tolerance is statistically significant: the two-sided 95% interval of
  ``value - baseline`` lies entirely above the tolerance (see ``losscli.ci.compare`` for the
  paired and the two-sample tests).

Values are compared unrounded; messages print as many digits as it takes to tell the value
from its limit.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from losscli.engine.results import SCHEMA_VERSION, LossResult, json_safe
from losscli.engine.signature import losscli_version
from losscli.engine.slices import SliceValue
from losscli.errors import InputError, UsageError
from losscli.stats import LEVEL, Difference, Test, detectable, holm

_LOG = logging.getLogger("losscli")  # --verbose
ALL = "*"  # the key of a tolerance that applies to every loss
MAX = "max"
MAX_INCREASE = "max_increase"


# --------------------------------------------------------------------------- parsing rules


@dataclass(frozen=True, slots=True)
class Tolerance:
    """An allowed increase: ``amount`` absolute, or a fraction of the baseline when relative."""

    amount: float
    relative: bool
    text: str  # as written: "2%" or "0.01"

    def allowed(self, baseline: float) -> float:
        return self.amount * abs(baseline) if self.relative else self.amount


def _number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"{what}: expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise UsageError(f"{what}: expected a finite number, got {text!r}")
    return value


def parse_tolerance(raw: str | float, what: str = "--max-increase") -> Tolerance:
    """``"2%"`` -> 2% of the baseline; ``"0.01"`` or ``0.01`` -> 0.01 in the loss's units."""
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise UsageError(f"{what}: expected a number or a percentage such as '2%', got {raw!r}")
    text = str(raw).strip()
    if text.endswith("%"):
        return Tolerance(_number(text[:-1].strip(), what) / 100, True, text)
    return Tolerance(_number(text, what), False, text)


def _split_rule(text: str, option: str, example: str) -> tuple[str, str]:
    """``SPEC=VALUE`` split at the last '=' (a spec may hold '=' itself: ce:label_smoothing=0.1)."""
    spec, sep, value = text.rpartition("=")
    if not sep or not spec.strip() or not value.strip():
        raise UsageError(f"{option} {text!r}: expected SPEC=VALUE, e.g. {option} {example}")
    return spec.strip(), value.strip()


def parse_ceilings(texts: Sequence[str], option: str = "--max") -> dict[str, float]:
    """``--max SPEC=VALUE`` (or ``--slice-max``) options as {spec: ceiling}."""
    out: dict[str, float] = {}
    for text in texts:
        spec, value = _split_rule(text, option, "ce=0.35")
        out[spec] = _number(value, f"{option} {text}")
    return out


def parse_increases(texts: Sequence[str]) -> dict[str, Tolerance]:
    """``--max-increase 2%`` (every loss, key ``ALL``) or ``--max-increase SPEC=2%``."""
    out: dict[str, Tolerance] = {}
    for text in texts:
        if "=" in text:
            spec, value = _split_rule(text, "--max-increase", "ce=2%")
            out[spec] = parse_tolerance(value, f"--max-increase {text}")
        else:
            out[ALL] = parse_tolerance(text, f"--max-increase {text}")
    return out


@dataclass(frozen=True, slots=True)
class Rules:
    """Everything ``check`` verifies. ``max_increase`` needs a baseline."""

    max: dict[str, float] = field(default_factory=dict)
    max_increase: dict[str, Tolerance] = field(default_factory=dict)
    significant: bool = False

    def tolerance(self, loss: str) -> Tolerance | None:
        """The tolerance for one loss: its own, else the one for every loss."""
        return self.max_increase.get(loss, self.max_increase.get(ALL))

    def keys(self) -> list[str]:
        """The losses the rules name, in the order they were given (without ``ALL``)."""
        seen = [*self.max, *self.max_increase]
        return [k for i, k in enumerate(seen) if k != ALL and k not in seen[:i]]

    def check_losses(self, losses: Sequence[str]) -> None:
        """Every rule must name a loss being computed (keys are the specs as written)."""
        for key in self.keys():
            if key not in losses:
                option = "--max" if key in self.max else "--max-increase"
                raise UsageError(
                    f"{option} names {key!r}, which is not among the losses "
                    f"({', '.join(losses)}); the key is the spec exactly as given "
                    "to --loss"
                )


ZERO = Tolerance(0.0, False, "0")


# --------------------------------------------------------------------------- baselines


@dataclass(frozen=True, slots=True)
class Baseline:
    """A baseline value for one loss: from a ``compute --format json`` file or from
    evaluating baseline predictions."""

    loss: str
    value: float
    n: int
    std: float | None
    signature: str | None = None  # None in baselines written before signatures existed


def baseline_from_json(doc: Any, source: str) -> dict[str, Baseline]:
    """The results of a ``losscli compute --format json`` document, by loss spec."""
    fix = "write it with 'losscli compute PREDS LABELS --loss ... --format json > FILE'"
    if not isinstance(doc, dict) or not isinstance(doc.get("results"), list):
        raise InputError(f"{source}: not a losscli JSON report (no 'results' list); {fix}")
    version = doc.get("schema_version")
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise InputError(
            f"{source}: schema_version {version!r} is not one this losscli reads "
            f"(up to {SCHEMA_VERSION}); {fix}"
        )
    out: dict[str, Baseline] = {}
    for item in doc["results"]:
        if not isinstance(item, dict) or not isinstance(item.get("loss"), str):
            raise InputError(f"{source}: a result without a 'loss' name; {fix}")
        loss = item["loss"]
        if item.get("reduction", "mean") != "mean":
            raise InputError(
                f"{source}: {loss} was computed with --reduction "
                f"{item['reduction']}; baselines must use the mean"
            )
        value, n, std = item.get("value"), item.get("n"), item.get("std")
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise InputError(f"{source}: {loss} has no numeric value (got {value!r})")
        signature = item.get("signature")
        out[loss] = Baseline(
            loss,
            float(value),
            int(n) if isinstance(n, int) else 0,
            float(std) if isinstance(std, int | float) else None,
            signature if isinstance(signature, str) and signature else None,
        )
    return out


def baseline_from_results(results: Sequence[LossResult]) -> dict[str, Baseline]:
    return {r.loss: Baseline(r.loss, r.value, r.n, r.std, r.signature or None) for r in results}


# --------------------------------------------------------------------------- evaluation


@dataclass(frozen=True, slots=True)
class Outcome:
    """One rule applied to one loss."""

    rule: str  # MAX or MAX_INCREASE
    loss: str
    value: float
    limit: float  # the ceiling, or baseline + allowed increase
    margin: float  # limit - value: positive is headroom, negative is over the limit
    passed: bool
    tolerance: str  # as written: "0.35", "2%", "0.01"
    baseline: float | None = None
    test: Test | None = None
    message: str = ""
    # The smallest true change (above the limit, or over the baseline) that the data would
    # detect at 80% power with a two-sided 5% test: a PASS with a margin below it says little.
    mde: float = math.nan
    # A per-slice rule's slice (--group-by): (group column, value) pairs; () for overall.
    slice: tuple[tuple[str, SliceValue], ...] = ()

    @property
    def status(self) -> str:
        return "PASS" if self.passed else "FAIL"

    @property
    def identical(self) -> bool:
        """Tested on samples that each have exactly the baseline's loss: no difference at all."""
        d = None if self.test is None else self.test.difference
        return d is not None and d.diff == 0 and d.se == 0

    @property
    def shown_margin(self) -> float:
        """The margin reports show: ``limit - value``; for a rule judged by significance, the
        room left before the increase is significant, ``allowed - ci_low`` (negative exactly
        when the interval lies above the allowed increase)."""
        if self.test is None:
            return self.margin
        return self.test.allowed - self.test.difference.ci_low

    @property
    def increase(self) -> float | None:
        return None if self.baseline is None else self.value - self.baseline

    @property
    def title(self) -> str:
        """A short name for the rule, e.g. ``max ce`` or ``max_increase ce``."""
        return f"{self.rule} {self.loss}"

    def to_dict(self) -> dict[str, Any]:
        out = self._dict()
        if self.slice:  # per-slice rules only (a key added in 0.1: readers ignore unknown keys)
            out["slice"] = dict(self.slice)
        return out

    def _dict(self) -> dict[str, Any]:
        test = None
        if self.test is not None:
            d = self.test.difference
            test = {
                "method": d.method,
                "increase": d.diff,
                "se": d.se,
                "df": d.df,
                "ci_low": d.ci_low,
                "ci_high": d.ci_high,
                "n": d.n,
                "allowed": self.test.allowed,
                "t": self.test.t,
                "p_value": self.test.p_value,
                "p_holm": self.test.p_holm,
                "significant": self.test.above,
                "identical": self.identical,
                "margin": self.shown_margin,
            }
        return {
            "rule": self.rule,
            "loss": self.loss,
            "value": self.value,
            "limit": self.limit,
            "margin": self.margin,
            "passed": self.passed,
            "status": self.status,
            "tolerance": self.tolerance,
            "baseline": self.baseline,
            "increase": self.increase,
            "test": test,
            "mde": self.mde,
            "message": self.message,
        }


def digits(a: float, b: float, start: int = 6) -> int:
    """Significant digits needed for ``a`` and ``b`` to print differently (up to 17)."""
    if not (math.isfinite(a) and math.isfinite(b)) or a == b:
        return start
    for d in range(start, 18):
        if f"{a:.{d}g}" != f"{b:.{d}g}":
            return d
    return 17


def _num(x: float, d: int) -> str:
    return f"{x:.{d}g}"


def _ceiling(loss: str, value: float, ceiling: float, text: str) -> Outcome:
    passed = value <= ceiling  # NaN never passes
    d = digits(value, ceiling)
    relation = "<=" if passed else ">"
    message = (
        f"{loss} = {_num(value, d)} {relation} max {_num(ceiling, d)}"
        if math.isfinite(value)
        else f"{loss} is {value} (max {_num(ceiling, d)})"
    )
    return Outcome(MAX, loss, value, ceiling, ceiling - value, passed, text, message=message)


def _increase(
    loss: str,
    value: float,
    base: Baseline,
    tol: Tolerance,
    difference: Difference | None,
    p_holm: float = math.nan,
) -> Outcome:
    allowed = tol.allowed(base.value)
    limit = base.value + allowed
    over = not value <= limit
    test = _holm_test(difference.test(allowed), p_holm) if difference is not None else None
    passed = (not over if test is None else not test.above) and not math.isnan(value)
    d = max(digits(value, limit), digits(value, base.value))
    rise = value - base.value
    rel = f" ({rise / abs(base.value):+.3%})" if base.value else ""
    allowed_text = (
        f"{tol.text} of the baseline = {_num(allowed, 4)}" if tol.relative else _num(allowed, 6)
    )
    message = (
        f"{loss} = {_num(value, d)} vs baseline {_num(base.value, d)}: increase "
        f"{_num(rise, 4)}{rel}, allowed {allowed_text}"
    )
    if test is not None and difference is not None and difference.diff == 0 == difference.se:
        message = (
            f"{loss} = {_num(value, d)} vs baseline {_num(base.value, d)}: no difference "
            f"(every one of the {difference.n} samples has the baseline's loss)"
        )
    elif test is not None:
        x = test.difference
        verdict = "significant" if test.above else "not significant"
        message += (
            f"; {verdict} (95% CI of the increase [{_num(x.ci_low, 4)}, "
            f"{_num(x.ci_high, 4)}], p = {_num(test.p_value, 3)}"
            + (f", Holm-adjusted {_num(test.p_holm, 3)}" if test.p_holm != test.p_value else "")
            + f", {x.method}, n = {x.n})"
        )
    return Outcome(
        MAX_INCREASE,
        loss,
        value,
        limit,
        limit - value,
        passed,
        tol.text,
        baseline=base.value,
        test=test,
        message=message,
    )


def _value_mde(r: LossResult) -> float:
    """The detectable distance of a mean loss from a ceiling: from its std and n (t, n − 1)."""
    if r.n < 2 or r.reduction != "mean":
        return math.nan
    return detectable(r.std / math.sqrt(r.n), r.n - 1)


def _holm_test(test: Test, p_holm: float) -> Test:
    """A test with its Holm-adjusted p: significant only when that p is below 5% too."""
    if math.isnan(p_holm):
        p_holm = test.p_value
    return replace(test, p_holm=p_holm, above=test.above and p_holm < 1 - LEVEL)


def _holm_by_loss(
    results: Sequence[LossResult],
    rules: Rules,
    baseline: Mapping[str, Baseline] | None,
    differences: Mapping[str, Difference],
) -> dict[str, float]:
    """Per loss with a significance-tested increase rule, its Holm-adjusted p-value."""
    if not rules.significant or baseline is None:
        return {}
    tests = {}
    for r in results:
        tol, base, d = rules.tolerance(r.loss), baseline.get(r.loss), differences.get(r.loss)
        if tol is not None and base is not None and d is not None:
            tests[r.loss] = d.test(tol.allowed(base.value)).p_value
    return dict(zip(tests, holm(list(tests.values())), strict=True))


def evaluate_rules(
    results: Sequence[LossResult],
    rules: Rules,
    baseline: Mapping[str, Baseline] | None = None,
    differences: Mapping[str, Difference] | None = None,
    baseline_source: str = "the baseline",
) -> list[Outcome]:
    """Apply every rule to the results, in loss order: ceilings first, then increases.

    ``differences`` hold, per loss, the estimated increase with its standard error (paired or
    two-sample); they are used only when ``rules.significant``.
    """
    outcomes: list[Outcome] = []
    adjusted = _holm_by_loss(results, rules, baseline, differences or {})
    for r in results:
        ruled = r.loss in rules.max or rules.tolerance(r.loss) is not None
        if ruled and math.isnan(r.value):
            # A value that is not a number cannot pass or fail: the run could not be judged.
            raise InputError(
                f"{r.loss} is nan over {r.n} samples, so no rule on it can be judged; "
                "check the inputs (--verbose shows how they were read)"
            )
        if r.loss in rules.max:
            ceiling = _ceiling(r.loss, r.value, rules.max[r.loss], str(rules.max[r.loss]))
            outcomes.append(replace(ceiling, mde=_value_mde(r)))
        tol = rules.tolerance(r.loss)
        if tol is None:
            continue
        if baseline is None:
            raise UsageError(
                "--max-increase needs a baseline: give --baseline baseline.json "
                "or --baseline-preds OLD"
            )
        base = baseline.get(r.loss)
        if base is None:
            have = ", ".join(baseline) or "none"
            raise InputError(
                f"{baseline_source} has no result for {r.loss!r} (it has: {have});"
                f" compute the baseline with --loss {r.loss}"
            )
        difference = (differences or {}).get(r.loss)
        if rules.significant and (difference is None or math.isnan(difference.se)):
            raise InputError(
                f"{r.loss}: cannot judge significance without a spread "
                "(the baseline or the current run has fewer than 2 samples "
                "or no std); drop --significant or recompute the baseline"
            )
        outcome = _increase(
            r.loss,
            r.value,
            base,
            tol,
            difference if rules.significant else None,
            adjusted.get(r.loss, math.nan),
        )
        mde = math.nan if difference is None else difference.mde
        outcomes.append(replace(outcome, mde=mde))
    for o in outcomes:
        _LOG.info("rule %s: %s: %s", o.title, o.status, o.message)
    return outcomes


# --------------------------------------------------------------------------- report


@dataclass(frozen=True, slots=True)
class CheckReport:
    """What ``losscli check`` says: every rule's outcome and the values behind them."""

    preds: str
    labels: str
    baseline: str | None  # the baseline JSON or predictions, as given
    n_samples: int
    outcomes: tuple[Outcome, ...]
    results: tuple[LossResult, ...]
    significant: bool = False
    method: str | None = None  # the significance test used, when significant
    # How the baseline's data differ from this run's (--allow-different-data), and warnings.
    data_differences: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    testing: dict[str, object] = field(default_factory=dict)  # --test, samples, seed
    # How the inputs were read (decision, reason), as compute says it.
    interpretation: tuple[tuple[str, str], ...] = ()

    @property
    def passed(self) -> bool:
        return all(o.passed for o in self.outcomes)

    @property
    def failures(self) -> tuple[Outcome, ...]:
        return tuple(o for o in self.outcomes if not o.passed)

    def summary(self) -> str:
        """One line: how many rules held or failed, and the failures' messages."""
        n, bad = len(self.outcomes), self.failures
        if not bad:
            return f"all {n} rules hold" if n != 1 else "the rule holds"
        return f"{len(bad)} of {n} rule{'s' if n != 1 else ''} failed: " + "; ".join(
            o.message for o in bad
        )

    def to_dict(self) -> dict[str, Any]:

        doc = {
            "schema_version": SCHEMA_VERSION,
            "losscli_version": losscli_version(),
            "passed": self.passed,
            "n_samples": self.n_samples,
            "inputs": {"predictions": self.preds, "labels": self.labels, "baseline": self.baseline},
            "significant": self.significant,
            "method": self.method,
            **self.testing,
            "same_data": not self.data_differences,
            "data_differences": list(self.data_differences),
            "warnings": list(self.warnings),
            "rules": [o.to_dict() for o in self.outcomes],
            "results": [r.to_dict() for r in self.results],
        }
        return dict(json_safe(doc))
