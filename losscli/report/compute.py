"""What ``compute`` reports in words: the worst rows' label and prediction text, and the
JSON document (contract: schema_version, n_samples, results[loss, value])."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from losscli.engine.results import SCHEMA_VERSION, Report, WorstRow, json_safe


def _short(x: float) -> str:
    return f"{x:.4g}"


def _values_text(values: tuple[float, ...]) -> str:
    if len(values) == 1:
        return _short(values[0])
    return "[" + ", ".join(map(_short, values)) + "]"


def _class_name(classes: tuple[str, ...], y: int) -> str:
    return classes[y] if 0 <= y < len(classes) else str(y)


def _positive_classes(classes: tuple[str, ...], label: tuple[float, ...]) -> str:
    """A 0/1 label row as its classes: ``b + c`` (multi-hot), ``b`` (one-hot) or ``none``."""
    return " + ".join(c for c, v in zip(classes, label, strict=True) if v == 1) or "none"


def worst_cells(report: Report, w: WorstRow) -> tuple[str, str]:
    """A worst row's label and prediction as text: class names, argmaxes, pixels, numbers."""
    classes = report.classes
    if w.positions is not None:
        acc = "no pixels" if w.accuracy is None else f"pixel acc {w.accuracy:.3f}"
        return f"{w.positions} px", acc
    if w.label_class is not None and report.task == "distribution":
        assert w.predicted_class is not None
        label = (
            f"argmax {classes[w.label_class]}"
            if w.label is None
            else _positive_classes(classes, w.label)
        )
        return label, f"argmax {classes[w.predicted_class]}"
    if w.label_class is not None:
        label = _class_name(classes, w.label_class)
        if w.predicted_class is not None:
            return label, classes[w.predicted_class]
        return label, _values_text(w.prediction or ())
    return _values_text(w.label or ()), _values_text(w.prediction or ())


def _worst_entry(report: Report, w: WorstRow) -> dict[str, Any]:
    label, prediction = worst_cells(report, w)
    entry = {
        "row": w.row,
        "id": w.id,
        "label": label,
        "prediction": prediction,
        "p_true": w.p_true,
        "losses": list(w.losses),
    }
    return dict(json_safe(entry))


def _by_class(report: Report) -> list[dict[str, Any]]:
    return [
        {
            "class": row.name,
            "losses": {
                r.loss: json_safe(
                    {
                        "count": row.count[i],
                        "mean": row.mean[i],
                        "share": row.share[i],
                        **(
                            {"ci_low": row.ci_low[i], "ci_high": row.ci_high[i]}
                            if row.ci_low
                            else {}
                        ),
                    }
                )
                for i, r in enumerate(report.results)
            },
        }
        for row in report.by_class
    ]


def _intervals(report: Report) -> dict[str, Any]:
    """How ci_low and ci_high were made: the method, the level, and for the bootstrap its
    replicates and seed (the same seed gives the same interval)."""
    iv = report.intervals
    boot = iv.method == "bootstrap"
    return {
        "method": iv.method.value,
        "level": iv.level,
        "bootstrap_samples": iv.samples if boot else None,
        "seed": iv.seed if boot else None,
    }


def compute_document(report: Report) -> dict[str, Any]:
    """The JSON document of ``compute``."""
    doc: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "losscli_version": report.version,
        "n_samples": report.n_samples,
        "n_skipped": report.n_skipped,
        "task": report.task,
        "classes": list(report.classes),
        "predictions_kind": report.kind,
        "inputs": {"predictions": asdict(report.preds), "labels": asdict(report.labels)},
        "interpretation": [{"decision": d, "reason": r} for d, r in report.interpretation],
        "ci": _intervals(report),
        "results": [json_safe(r.to_dict()) for r in report.results],
        "worst": [_worst_entry(report, w) for w in report.worst],
    }
    if report.by_class:
        doc["by_class"] = _by_class(report)
    if report.group_by:
        from losscli.report.slices import slices_json

        doc["group_by"] = list(report.group_by)
        doc["slices"] = slices_json(report)
    if report.weight_col is not None:
        doc["weight_col"] = report.weight_col
    return doc


def report_json(report: Report, precision: int) -> str:
    """The contract's JSON document; values keep full precision whatever ``precision`` says.
    (Here, not in ``render``: printing JSON loads no Rich.)"""
    return json.dumps(compute_document(report), indent=2, allow_nan=False)
