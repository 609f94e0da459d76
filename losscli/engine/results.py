"""Result types: frozen dataclasses of plain Python values, ready for any renderer."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class LossResult:
    """One loss's outcome. ``loss`` is the spec as the user wrote it."""

    loss: str
    name: str
    value: float
    n: int
    std: float
    ci_low: float
    ci_high: float
    reduction: str
    reference: str
    params: dict[str, Any]
    ignored: int = 0
    convention: str = "losscli"
    # How this convention differs from losscli's default ('' when it does not).
    convention_note: str = ""


@dataclass(frozen=True, slots=True)
class WorstRow:
    row: int
    id: str | None
    label: str
    prediction: str
    p_true: float | None
    losses: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class ClassRow:
    """One true class: per loss, its counted samples, mean loss and share of the total."""

    name: str
    count: tuple[int, ...]
    mean: tuple[float, ...]
    share: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class FileInfo:
    path: str
    format: str
    columns: tuple[str, ...] | None


@dataclass(frozen=True, slots=True)
class Report:
    """Everything ``compute`` says: inputs, interpretation, results, worst rows."""

    preds: FileInfo
    labels: FileInfo
    n_samples: int
    n_skipped: int
    task: str
    classes: tuple[str, ...]
    kind: str | None
    interpretation: tuple[tuple[str, str], ...]
    results: tuple[LossResult, ...]
    worst: tuple[WorstRow, ...]
    by_class: tuple[ClassRow, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON document (contract: schema_version, n_samples, results[loss, value])."""
        return {
            "schema_version": SCHEMA_VERSION,
            "n_samples": self.n_samples,
            "n_skipped": self.n_skipped,
            "task": self.task,
            "classes": list(self.classes),
            "predictions_kind": self.kind,
            "inputs": {"predictions": asdict(self.preds), "labels": asdict(self.labels)},
            "interpretation": [{"decision": d, "reason": r} for d, r in self.interpretation],
            "results": [json_safe(asdict(r)) for r in self.results],
            "worst": [json_safe(asdict(w)) for w in self.worst],
            **(
                {
                    "by_class": [
                        {
                            "class": row.name,
                            "losses": {
                                r.loss: json_safe(
                                    {
                                        "count": row.count[i],
                                        "mean": row.mean[i],
                                        "share": row.share[i],
                                    }
                                )
                                for i, r in enumerate(self.results)
                            },
                        }
                        for row in self.by_class
                    ]
                }
                if self.by_class
                else {}
            ),
        }


def json_safe(obj: Any) -> Any:
    """JSON has no NaN or infinity: write them as null (strict parsers reject the rest)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    return obj
