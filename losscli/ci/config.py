"""Settings for CI runs: ``[tool.losscli]`` in ``pyproject.toml`` or a ``losscli.toml``.

The file is found from the working directory upwards (in each folder ``losscli.toml`` first,
then a ``pyproject.toml`` that has a ``[tool.losscli]`` table); ``--config PATH`` names it.
Every key is optional; paths are relative to the file that holds them::

    [tool.losscli]                    # in losscli.toml: the same keys at the top level
    preds = "eval/preds.csv"          # PREDS of `losscli check`
    labels = "eval/labels.csv"        # LABELS of `check`, --labels of `compare`
    loss = ["ce", "mse"]              # --loss, in order
    baseline = "eval/baseline.json"   # --baseline: a `losscli compute --format json` file
    # baseline_preds = "eval/old.csv" # --baseline-preds: old predictions (a paired test)
    max_increase = "2%"               # --max-increase for every loss ("2%" or 0.01)
    significant = true                # --significant
    # test = "bootstrap"              # --test t|bootstrap|permutation (with bootstrap_samples,
    #                                 # seed: --bootstrap-samples, --seed)
    # allow_different_data = true     # --allow-different-data
    id_col = "image_id"               # input options as on the command line: --id-col,
    # join, pred_cols, label_col, kind ("logits" | "probs"), nan, preds_key, labels_key
    # weight_col = "w"                # --weight-col: per-row sample weights
    # group_by = ["lang"]             # --group-by (crossed), from either file or meta
    # meta = "eval/meta.csv"          # --meta FILE; min_slice_size = 30 (--min-slice-size)

    [tool.losscli.max]                # --max SPEC=VALUE (the key is the spec as in `loss`)
    ce = 0.35

    # [tool.losscli.slice_max]        # --slice-max SPEC=VALUE: a ceiling for every slice
    # ce = 0.5

    # or, instead of one max_increase for every loss:
    # [tool.losscli.max_increase]
    # ce = "2%"
    # mse = 0.01

Precedence: what the command line gives replaces the same setting from the file. ``--max``
and ``--max-increase`` entries replace the file's entries for the same loss and keep the
others (a loss's own tolerance beats the one for every loss); ``--loss`` replaces the list
and drops the file's rules for losses no longer in it; ``--baseline`` and
``--baseline-preds`` are one setting. Problems in the file are usage errors (exit 2).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from losscli.ci.checks import ALL, Tolerance, parse_tolerance
from losscli.errors import UsageError
from losscli.interpret.choices import ClassLabels, Join, NanPolicy
from losscli.interpret.plan import Kind, Options
from losscli.io.remote import remote_url
from losscli.io.text import Dialect

FILE_NAME = "losscli.toml"
PYPROJECT = "pyproject.toml"


@dataclass(frozen=True)
class Settings:
    """Options of ``check`` and ``compare``, from the command line or a config file.

    ``None`` (or empty) means "not given here"; ``merge`` layers the command line over a file.
    """

    source: Path | None = None  # the config file these came from
    preds: Path | None = None
    labels: Path | None = None
    loss: tuple[str, ...] = ()
    max: dict[str, float] = field(default_factory=dict)
    max_increase: dict[str, Tolerance] = field(default_factory=dict)
    baseline: Path | None = None
    baseline_preds: Path | None = None
    significant: bool | None = None
    allow_different_data: bool | None = None
    test: str | None = None  # --test t|bootstrap|permutation
    bootstrap_samples: int | None = None
    seed: int | None = None
    id_col: str | None = None
    join: str | None = None
    pred_cols: tuple[str, ...] | None = None
    label_col: tuple[str, ...] | None = None
    kind: str | None = None  # "logits" or "probs"
    nan: str | None = None
    preds_key: str | None = None
    labels_key: str | None = None
    preds_format: str | None = None  # for '-' (standard input); command line only
    labels_format: str | None = None
    weight_col: str | None = None
    group_by: tuple[str, ...] = ()
    meta: Path | None = None
    min_slice_size: int | None = None
    slice_max: dict[str, float] = field(default_factory=dict)
    # Command line only: --delimiter, --decimal, --header/--no-header; --class-labels.
    dialect: Dialect | None = None
    class_labels: str | None = None


# --------------------------------------------------------------------------- discovery


def _has_table(path: Path) -> bool:
    try:
        doc = _read(path)
    except UsageError:
        return True  # let loading report the error rather than skipping a broken file
    return isinstance(doc.get("tool"), dict) and "losscli" in doc["tool"]


def find_config(start: Path) -> Path | None:
    """The nearest ``losscli.toml``, or ``pyproject.toml`` with ``[tool.losscli]``, upwards."""
    for folder in [start, *start.parents]:
        candidate = folder / FILE_NAME
        if candidate.is_file():
            return candidate
        candidate = folder / PYPROJECT
        if candidate.is_file() and _has_table(candidate):
            return candidate
    return None


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise UsageError(f"--config {path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"--config {path}: is a directory; name a .toml file") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: invalid TOML: {exc}") from None


def load_config(path: Path) -> Settings:
    """Settings from one file: ``[tool.losscli]`` of a pyproject.toml, else the top level."""
    doc = _read(path)
    if path.name == PYPROJECT or "tool" in doc:
        table = doc.get("tool", {}).get("losscli")
        if table is None:
            raise UsageError(f"{path}: no [tool.losscli] table")
    else:
        table = doc
    if not isinstance(table, dict):
        raise UsageError(f"{path}: [tool.losscli] must be a table")
    return _settings(table, path)


def discover(explicit: Path | None, cwd: Path | None = None) -> Settings:
    """Settings from ``--config PATH``, else from the nearest config file, else empty."""
    if explicit is not None:
        return load_config(explicit)
    found = find_config((cwd or Path.cwd()).resolve())
    return Settings() if found is None else load_config(found)


# --------------------------------------------------------------------------- parsing


def _text(key: str, where: str) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        if not isinstance(value, str) or not value:
            raise UsageError(f"{where}: {key} must be a non-empty string, got {value!r}")
        return value

    return convert


def _texts(key: str, where: str) -> Callable[[Any], tuple[str, ...]]:
    def convert(value: Any) -> tuple[str, ...]:
        items = [value] if isinstance(value, str) else value
        if (
            not isinstance(items, list)
            or not items
            or not all(isinstance(v, str) and v for v in items)
        ):
            raise UsageError(f"{where}: {key} must be a string or a list of strings, got {value!r}")
        return tuple(items)

    return convert


def _choice(key: str, where: str, choices: tuple[str, ...]) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        if value not in choices:
            raise UsageError(f"{where}: {key} must be one of {', '.join(choices)}, got {value!r}")
        return str(value)

    return convert


def _ceilings(where: str, key: str = "max") -> Callable[[Any], dict[str, float]]:
    def convert(value: Any) -> dict[str, float]:
        if not isinstance(value, dict):
            raise UsageError(
                f"{where}: {key} must be a table of loss spec = ceiling, "
                f"e.g. [tool.losscli.{key}] ce = 0.35"
            )
        out = {}
        for spec, ceiling in value.items():
            if isinstance(ceiling, bool) or not isinstance(ceiling, int | float):
                raise UsageError(f"{where}: {key}.{spec} must be a number, got {ceiling!r}")
            out[spec] = float(ceiling)
        return out

    return convert


def _increases(where: str) -> Callable[[Any], dict[str, Tolerance]]:
    def convert(value: Any) -> dict[str, Tolerance]:
        if isinstance(value, dict):
            return {
                spec: parse_tolerance(tol, f"{where}: max_increase.{spec}")
                for spec, tol in value.items()
            }
        return {ALL: parse_tolerance(value, f"{where}: max_increase")}

    return convert


def _count(key: str, where: str) -> Callable[[Any], int]:
    def convert(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise UsageError(f"{where}: {key} must be a whole number >= 0, got {value!r}")
        return value

    return convert


def _flag(key: str, where: str) -> Callable[[Any], bool]:
    def convert(value: Any) -> bool:
        if not isinstance(value, bool):
            raise UsageError(f"{where}: {key} must be true or false, got {value!r}")
        return value

    return convert


def _integer(key: str, where: str, minimum: int) -> Callable[[Any], int]:
    def convert(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise UsageError(f"{where}: {key} must be an integer >= {minimum}, got {value!r}")
        return value

    return convert


def _settings(table: dict[str, Any], path: Path) -> Settings:
    where = str(path)
    base = path.parent

    def to_path(key: str) -> Callable[[Any], Path]:
        def convert(value: Any) -> Path:
            text = _text(key, where)(value)
            return Path(text) if remote_url(text) else _shown(base / text)  # URLs stay as given

        return convert

    converters: dict[str, Callable[[Any], Any]] = {
        "preds": to_path("preds"),
        "labels": to_path("labels"),
        "loss": _texts("loss", where),
        "max": _ceilings(where),
        "max_increase": _increases(where),
        "baseline": to_path("baseline"),
        "baseline_preds": to_path("baseline_preds"),
        "significant": _flag("significant", where),
        "allow_different_data": _flag("allow_different_data", where),
        "test": _choice("test", where, ("t", "bootstrap", "permutation")),
        "bootstrap_samples": _integer("bootstrap_samples", where, 1),
        "seed": _integer("seed", where, 0),
        "id_col": _text("id_col", where),
        "join": _choice("join", where, tuple(Join)),
        "pred_cols": _texts("pred_cols", where),
        "label_col": _texts("label_col", where),
        "kind": _choice("kind", where, tuple(Kind)),
        "nan": _choice("nan", where, tuple(NanPolicy)),
        "preds_key": _text("preds_key", where),
        "labels_key": _text("labels_key", where),
        "weight_col": _text("weight_col", where),
        "group_by": _texts("group_by", where),
        "meta": to_path("meta"),
        "min_slice_size": _count("min_slice_size", where),
        "slice_max": _ceilings(where, "slice_max"),
    }
    unknown = sorted(set(table) - set(converters))
    if unknown:
        raise UsageError(
            f"{where}: unknown key{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(unknown)}; known keys: {', '.join(converters)}"
        )
    values = {key: converters[key](value) for key, value in table.items()}
    if "baseline" in values and "baseline_preds" in values:
        raise UsageError(f"{where}: give baseline or baseline_preds, not both")
    return Settings(source=path, **values)


def _shown(path: Path) -> Path:
    """A config path as the user would type it from the working directory."""
    import os

    try:
        return Path(os.path.relpath(path))
    except ValueError:  # another drive on Windows
        return path


# --------------------------------------------------------------------------- precedence


def merge(config: Settings, cli: Settings) -> Settings:
    """``cli`` over ``config``; see the module docstring for the rule tables and losses."""
    out = config
    if cli.loss:
        keep = set(cli.loss) | {ALL}
        out = replace(
            out,
            max={k: v for k, v in out.max.items() if k in keep},
            slice_max={k: v for k, v in out.slice_max.items() if k in keep},
            max_increase={k: v for k, v in out.max_increase.items() if k in keep},
        )
    if cli.baseline is not None or cli.baseline_preds is not None:
        out = replace(out, baseline=None, baseline_preds=None)
    changes: dict[str, Any] = {}
    for f in fields(Settings):
        if f.name == "source":
            continue
        mine = getattr(cli, f.name)
        if f.name in ("max", "max_increase", "slice_max"):
            changes[f.name] = {**getattr(out, f.name), **mine}
        elif mine is not None and mine != ():
            changes[f.name] = mine
    return replace(out, **changes)


def settings_options(settings: Settings) -> Options:
    """Input options (``losscli.interpret.plan.Options``) from ``check``/``compare`` settings."""
    from losscli.interpret.meta import MetaColumns

    return Options(
        pred_cols=settings.pred_cols,
        label_cols=settings.label_col,
        id_col=settings.id_col,
        kind=None if settings.kind is None else Kind(settings.kind),
        nan=NanPolicy(settings.nan or NanPolicy.ERROR),
        allow_unmatched=settings.join == Join.INNER,
        meta=MetaColumns(settings.weight_col, settings.group_by),
        class_labels=None if settings.class_labels is None else ClassLabels(settings.class_labels),
    )
