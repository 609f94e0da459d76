"""Saved states (``--save-state``) and their union (``losscli merge``).

A state is a JSON document (``format: losscli-state``, ``version: 2``) holding everything a
run's accumulators hold, floats written exactly as ``float.hex`` strings, with what finalize
needs: the loss specs, the reduction, the input plan and the files. No pickle. Each
accumulator writes and reads its own part (``to_state`` / ``from_state``), so a new
accumulator adds its part here. Merged states give the report of one run over all their rows:
the states' rows are numbered one after the other in the order given.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import fields
from pathlib import Path
from typing import Any

from losscli.engine.accumulators import ByClass, Moments, Worst
from losscli.engine.evaluate import Evaluation
from losscli.engine.histogram import Histogram
from losscli.engine.results import FileInfo, Report
from losscli.engine.slices import Sliced
from losscli.errors import InputError, UsageError
from losscli.interpret.meta import MetaColumns
from losscli.interpret.plan import Kind, LabelMode, NanPolicy, Note, Plan
from losscli.io.outputs import write_text
from losscli.losses import Task
from losscli.spec import LossSpec, parse_specs

FORMAT = "losscli-state"
VERSION = 2
READS = (1, 2)  # version 1: no weight or group columns, no slices
_ENUMS: dict[str, Any] = {"task": Task, "label_mode": LabelMode, "kind": Kind, "nan": NanPolicy}


def _value(v: Any) -> Any:
    """A plan value as JSON: floats as tagged hex, numpy scalars as Python values."""
    v = v.item() if hasattr(v, "item") else v
    if isinstance(v, float):
        return {"float": v.hex()}
    return v


def _unvalue(v: Any) -> Any:
    return float.fromhex(v["float"]) if isinstance(v, dict) else v


def plan_state(plan: Plan) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields(Plan):
        v = getattr(plan, f.name)
        if f.name == "notes":
            v = [[n.what, n.why] for n in v]
        elif f.name == "binary_values":
            v = None if v is None else [_value(x) for x in v]
        elif f.name in _ENUMS:
            v = None if v is None else v.value
        out[f.name] = v
    return out


def plan_from_state(state: dict[str, Any]) -> Plan:
    values = dict(state)
    for name, enum in _ENUMS.items():
        values[name] = None if values[name] is None else enum(values[name])
    values["notes"] = [Note(what, why) for what, why in values["notes"]]
    if values["binary_values"] is not None:
        values["binary_values"] = tuple(_unvalue(x) for x in values["binary_values"])
    return Plan(**values)


def state_of(
    ev: Evaluation,
    specs: list[LossSpec],
    plan: Plan,
    *,
    reduction: str,
    files: tuple[FileInfo, FileInfo],
    skipped: int,
    min_slice_size: int,
) -> dict[str, Any]:
    """The document ``--save-state`` writes."""
    if ev.bootstrap is not None:
        raise UsageError("--save-state keeps t intervals only; leave out --ci bootstrap")
    return {
        "format": FORMAT,
        "version": VERSION,
        "losses": [[s.text, s.convention.value] for s in specs],
        "reduction": reduction,
        "plan": plan_state(plan),
        "files": [[f.path, f.format, f.columns and list(f.columns), f.sha256] for f in files],
        "n_samples": ev.n_samples,
        "skipped": skipped,
        "moments": [m.to_state() for m in ev.moments],
        "worst": ev.worst.to_state(),
        "by_class": None if ev.by_class is None else ev.by_class.to_state(),
        "histograms": [h.to_state() for h in ev.histograms],
        # Version 2: the weight and group columns, and the slices' accumulators.
        "meta": {"weight": ev.meta.weight, "groups": list(ev.meta.groups)},
        "min_slice_size": min_slice_size,
        "slices": None if ev.sliced is None else ev.sliced.to_state(),
    }


def write_state(path: Path, doc: dict[str, Any]) -> None:
    """Write a state whole or not at all."""
    write_text(path, json.dumps(doc, indent=1) + "\n", "--save-state")


def load_state(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not a saved state ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise InputError(
            f"{path}: not a saved state; write one with 'losscli compute --save-state'"
        )
    if doc.get("version") not in READS:
        raise InputError(
            f"{path}: state version {doc.get('version')!r}; this losscli reads versions "
            f"{', '.join(map(str, READS))}"
        )
    try:  # every part readable now, so a damaged file is an input error, not a crash later
        _identity(doc)
        _evaluation(doc, 0)  # pragma: no mutate
        plan_from_state(doc["plan"])
        preds, labels = doc["files"]  # two entries, else a ValueError
        for side in (preds, labels):
            _merged_file([side])
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(
            f"{path}: a saved state with a missing or damaged part ({type(exc).__name__}: "
            f"{exc}); write it again with 'losscli compute --save-state'"
        ) from None
    return doc


# What must agree for states to be parts of one run (the plan but its notes).
def _identity(doc: dict[str, Any]) -> dict[str, Any]:
    plan = {k: v for k, v in doc["plan"].items() if k != "notes"}
    return {
        "losses": doc["losses"],
        "reduction": doc["reduction"],
        **{f"plan {k}": v for k, v in plan.items()},
        "top": doc["worst"]["k"],
        "by-class": doc["by_class"] is not None,
        "weight column": _meta(doc).weight,
        "group-by": _meta(doc).groups,
        "min-slice-size": doc.get("min_slice_size", 0),
    }


def _meta(doc: dict[str, Any]) -> MetaColumns:
    """The weight and group columns of a state (none in version 1)."""
    meta = doc.get("meta") or {}
    return MetaColumns(meta.get("weight"), tuple(meta.get("groups", ())))


def _evaluation(doc: dict[str, Any], row_offset: int) -> Evaluation:
    by_class = doc["by_class"]
    slices = doc.get("slices")
    return Evaluation(
        [Moments.from_state(m) for m in doc["moments"]],
        Worst.from_state(doc["worst"], row_offset),
        None if by_class is None else ByClass.from_state(by_class),
        n_samples=int(doc["n_samples"]),
        histograms=[Histogram.from_state(h) for h in doc["histograms"]],
        sliced=None if slices is None else Sliced.from_state(slices, len(doc["moments"])),
        meta=_meta(doc),
    )


def _merged_file(infos: list[list[Any]]) -> FileInfo:
    """One FileInfo for the same side of several states: paths joined, hashes hashed (one
    state keeps its own, so its signatures are those of the run that saved it)."""
    shas = [i[3] for i in infos]
    sha = None if None in shas else hashlib.sha256("".join(shas).encode()).hexdigest()
    if len(shas) == 1:
        sha = shas[0]
    paths = " + ".join(dict.fromkeys(str(i[0]) for i in infos))
    columns = infos[0][2]
    return FileInfo(paths, str(infos[0][1]), None if columns is None else tuple(columns), sha)


def merge_states(paths: list[Path]) -> Report:
    """The report of the union of saved states, as one run over all their rows."""
    docs = [load_state(p) for p in paths]
    first = _identity(docs[0])
    for path, doc in zip(paths[1:], docs[1:], strict=True):  # pragma: no mutate
        for key, value in _identity(doc).items():
            if value != first[key]:
                raise InputError(
                    f"{path} and {paths[0]} differ in {key} ({value!r} vs {first[key]!r}); "
                    "only states of the same losses, parameters, conventions and inputs merge"
                )
    total: Evaluation | None = None
    offset = 0
    for doc in docs:
        part = _evaluation(doc, offset)
        offset += int(doc["n_samples"]) + int(doc["skipped"])
        if total is None:
            total = part
        else:
            total.merge(part)
    assert total is not None
    specs = [
        s
        for text, conv in docs[0]["losses"]
        for s in parse_specs([text], docs[0]["reduction"], conv)
    ]
    files = (
        _merged_file([d["files"][0] for d in docs]),
        _merged_file([d["files"][1] for d in docs]),
    )
    return total.finalize(
        specs,
        plan_from_state(docs[0]["plan"]),
        reduction=docs[0]["reduction"],
        files=files,
        skipped=sum(int(d["skipped"]) for d in docs),
        min_slice_size=int(docs[0].get("min_slice_size", 0)),
    )
