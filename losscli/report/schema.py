"""JSON Schemas (draft 2020-12) of the JSON documents ``compute``, ``check`` and ``compare``
write; ``losscli schema NAME`` prints them.

The schemas are strict (``additionalProperties: false``): they list every key this version
writes, and the test suite validates every JSON output it produces against them. Readers of
the documents should ignore keys they do not know: ``schema_version`` changes only when a
key is removed or renamed or changes meaning; added keys leave it as it is.
"""

from __future__ import annotations

import json
from typing import Any

from losscli.ci.paired import TestMethod
from losscli.engine.intervals import CiMethod
from losscli.engine.results import SCHEMA_VERSION
from losscli.losses import Task

DRAFT = "https://json-schema.org/draft/2020-12/schema"
Schema = dict[str, Any]

NUMBER: Schema = {"type": "number"}
# Non-finite numbers are written as null.
NUMBER_OR_NULL: Schema = {"type": ["number", "null"]}
COUNT: Schema = {"type": "integer", "minimum": 0}
TEXT: Schema = {"type": "string"}
TEXT_OR_NULL: Schema = {"type": ["string", "null"]}
SHA256: Schema = {"type": ["string", "null"], "pattern": "^[0-9a-f]{64}$"}
SIGNATURE: Schema = {
    "type": "string",
    "pattern": r"^loss:[^|]+(\|[a-z_]+:[^|]*)*$",
    "description": "Everything that changes the value, sacreBLEU-style: "
    "loss:...|convention:...|reduction:...|[kind:...|]task:...|[classes:...|]"
    "[weights:...|][slice:...|]n:...|labels:<12 hex digits of the labels' sha256>|version:...",
}


def _object(properties: dict[str, Schema], *, optional: tuple[str, ...] = ()) -> Schema:
    """An object with exactly these keys (all required but ``optional``)."""
    return {
        "type": "object",
        "properties": properties,
        "required": [k for k in properties if k not in optional],
        "additionalProperties": False,
    }


def _array(items: Schema) -> Schema:
    return {"type": "array", "items": items}


def _header(name: str, title: str) -> Schema:
    return {
        "$schema": DRAFT,
        "$id": f"urn:losscli:schema:{name}:{SCHEMA_VERSION}",
        "title": title,
    }


_RESULT = _object(
    {
        "loss": {**TEXT, "description": "the --loss spec as written (and [convention])"},
        "name": TEXT,
        "value": NUMBER_OR_NULL,
        "n": COUNT,
        "std": NUMBER_OR_NULL,
        "ci_low": NUMBER_OR_NULL,
        "ci_high": NUMBER_OR_NULL,
        "reduction": {"enum": ["mean", "sum"]},
        "reference": TEXT,
        "params": {"type": "object"},
        "ignored": COUNT,
        "convention": TEXT,
        "convention_note": TEXT,
        "signature": SIGNATURE,
        # calibration losses (ece, mce): the confidence bins; empty for the others
        "bins": _array(
            _object(
                {
                    "low": NUMBER,
                    "high": NUMBER,
                    "count": COUNT,
                    "confidence": NUMBER_OR_NULL,
                    "accuracy": NUMBER_OR_NULL,
                    "gap": NUMBER_OR_NULL,
                }
            )
        ),
        # The per-sample values: null when no sample has one of its own.
        "quantiles": {
            "oneOf": [
                {"type": "null"},
                _object({"p50": NUMBER_OR_NULL, "p90": NUMBER_OR_NULL, "p99": NUMBER_OR_NULL}),
            ],
            "description": "the values of rank floor(q*(n-1)) among the sorted per-sample "
            "values: exact up to 4096 samples, within 0.5% relative above",
        },
        "histogram": {
            "oneOf": [
                {"type": "null"},
                _object(
                    {
                        "count": COUNT,
                        "min": NUMBER_OR_NULL,
                        "max": NUMBER_OR_NULL,
                        "edges": _array(NUMBER_OR_NULL),
                        "counts": _array(COUNT),
                    }
                ),
            ],
            "description": "exact counts of per-sample values between log-spaced edges "
            "(len(edges) = len(counts) + 1, from min to max)",
        },
        "n_eff": {
            **NUMBER_OR_NULL,
            "description": "with --weight-col: Kish's effective sample size (Σw)²/Σw²",
        },
    },
    optional=("bins",),
)

# One slice of --group-by: its value per group column (null: missing), rows, and results
# (as in results, plus the difference from the overall value); hidden: under --min-slice-size.
_SLICE = _object(
    {
        "slice": {
            "type": "object",
            "additionalProperties": {"type": ["string", "integer", "boolean", "null"]},
        },
        "n": COUNT,
        "hidden": {"type": "boolean"},
        "results": _array(
            {
                **_RESULT,
                "properties": {**_RESULT["properties"], "difference": NUMBER_OR_NULL},
                "required": [*_RESULT["required"], "difference"],
            }
        ),
    }
)

_FILE = _object(
    {
        "path": TEXT,
        "format": TEXT,
        "columns": {"type": ["array", "null"], "items": TEXT},
        "sha256": SHA256,
    }
)


# How paired differences are tested (--test, --bootstrap-samples, --seed).
_TESTING: dict[str, Schema] = {
    "test": {"enum": [m.value for m in TestMethod]},
    "bootstrap_samples": {"type": ["integer", "null"], "minimum": 1},
    "seed": {"type": ["integer", "null"]},
}


# compute's keys with --group-by (the group columns, the slices) and --weight-col.
_GROUPED: dict[str, Schema] = {
    "group_by": _array(TEXT),
    "slices": _array(_SLICE),
    "weight_col": TEXT,
}


def compute_schema() -> Schema:
    """The document of ``compute --format json``."""
    worst = _object(
        {
            "row": COUNT,
            "id": TEXT_OR_NULL,
            "label": TEXT,
            "prediction": TEXT,
            "p_true": NUMBER_OR_NULL,
            "losses": _array(NUMBER_OR_NULL),
        }
    )
    by_class = _object(
        {
            "class": TEXT,
            "losses": {
                "type": "object",
                "additionalProperties": _object(
                    {
                        "count": COUNT,
                        "mean": NUMBER_OR_NULL,
                        "share": NUMBER_OR_NULL,
                        # with --ci bootstrap: the class mean's interval
                        "ci_low": NUMBER_OR_NULL,
                        "ci_high": NUMBER_OR_NULL,
                    },
                    optional=("ci_low", "ci_high"),
                ),
            },
        }
    )
    return {
        **_header("compute", "losscli compute --format json"),
        **_object(
            {
                "schema_version": {"const": SCHEMA_VERSION},
                "losscli_version": TEXT,
                "n_samples": COUNT,
                "n_skipped": COUNT,
                "task": {"enum": [t.value for t in Task]},
                "classes": _array(TEXT),
                "predictions_kind": {"enum": ["logits", "probs", None]},
                "inputs": _object({"predictions": _FILE, "labels": _FILE}),
                "interpretation": _array(_object({"decision": TEXT, "reason": TEXT})),
                "ci": _object(
                    {
                        "method": {"enum": [m.value for m in CiMethod]},
                        "level": NUMBER,
                        "bootstrap_samples": {"type": ["integer", "null"], "minimum": 1},
                        "seed": {"type": ["integer", "null"]},
                    }
                ),
                "results": _array(_RESULT),
                "worst": _array(worst),
                "by_class": _array(by_class),
                **_GROUPED,
            },
            optional=("by_class", *_GROUPED),
        ),
    }


# A rule's significance test (check --significant).
_TEST = _object(
    {
        "method": TEXT,
        "increase": NUMBER_OR_NULL,
        "se": NUMBER_OR_NULL,
        "df": NUMBER_OR_NULL,
        "ci_low": NUMBER_OR_NULL,
        "ci_high": NUMBER_OR_NULL,
        "n": COUNT,
        "allowed": NUMBER_OR_NULL,
        "t": NUMBER_OR_NULL,
        "p_value": NUMBER_OR_NULL,
        "p_holm": {**NUMBER_OR_NULL, "description": "p adjusted by Holm over the losses"},
        "significant": {"type": "boolean"},
        "identical": {
            "type": "boolean",
            "description": "every sample has exactly the baseline's loss",
        },
        "margin": {
            **NUMBER_OR_NULL,
            "description": "allowed - ci_low: the room left before the increase is "
            "significant (the margin reports show for this rule)",
        },
    }
)


def check_schema() -> Schema:
    """The document of ``check --format json``."""
    rule = _object(
        {
            "rule": {"enum": ["max", "max_increase", "slice_max"]},
            "loss": TEXT,
            "value": NUMBER_OR_NULL,
            "limit": NUMBER_OR_NULL,
            "margin": NUMBER_OR_NULL,
            "passed": {"type": "boolean"},
            "status": {"enum": ["PASS", "FAIL"]},
            "tolerance": TEXT,
            "baseline": NUMBER_OR_NULL,
            "increase": NUMBER_OR_NULL,
            "test": {"oneOf": [_TEST, {"type": "null"}]},
            "mde": {**NUMBER_OR_NULL, "description": "minimum detectable effect at 80% power"},
            "message": TEXT,
            "slice": {
                **_SLICE["properties"]["slice"],
                "description": "a per-slice rule's slice (--group-by): group column -> value",
            },
        },
        optional=("slice",),
    )
    return {
        **_header("check", "losscli check --format json"),
        **_object(
            {
                "schema_version": {"const": SCHEMA_VERSION},
                "losscli_version": TEXT,
                "passed": {"type": "boolean"},
                "n_samples": COUNT,
                "inputs": _object({"predictions": TEXT, "labels": TEXT, "baseline": TEXT_OR_NULL}),
                "significant": {"type": "boolean"},
                "method": TEXT_OR_NULL,
                **_TESTING,  # with --baseline-preds
                "same_data": {
                    "type": "boolean",
                    "description": "false when the baseline's signatures name other data "
                    "(--allow-different-data)",
                },
                "data_differences": _array(TEXT),
                "warnings": _array(TEXT),
                "rules": _array(rule),
                "results": _array(_RESULT),
            },
            optional=tuple(_TESTING),
        ),
    }


def _compare_diff() -> Schema:
    """One model's tested difference to the first."""
    return _object(
        {
            "diff": NUMBER_OR_NULL,
            "se": NUMBER_OR_NULL,
            "df": NUMBER_OR_NULL,
            "ci_low": NUMBER_OR_NULL,
            "ci_high": NUMBER_OR_NULL,
            "p_value": NUMBER_OR_NULL,
            "p_holm": NUMBER_OR_NULL,
            "mde": NUMBER_OR_NULL,
            "n": COUNT,
            "share_better": NUMBER_OR_NULL,
            "share_worse": NUMBER_OR_NULL,
        }
    )


def _compared_slice(diff: Schema) -> Schema:
    """compare --group-by: one slice (worst-regressing first; hidden: under
    --min-slice-size, no losses), the models' values on its paired samples and the
    differences to the first, p_holm adjusted over every (slice, loss, model)."""
    slice_loss = _object(
        {
            "loss": TEXT,
            "values": _array(NUMBER_OR_NULL),
            "vs_first": _array({"oneOf": [diff, {"type": "null"}]}),
        }
    )
    return _object(
        {
            "slice": _SLICE["properties"]["slice"],
            "n": COUNT,
            "hidden": {"type": "boolean"},
            "losses": _array(slice_loss),
        }
    )


def compare_schema() -> Schema:
    """The document of ``compare --format json``."""
    diff = _compare_diff()
    loss = _object(
        {
            "loss": TEXT,
            "values": _array(NUMBER_OR_NULL),
            "best": TEXT,
            "vs_first": _array({"oneOf": [diff, {"type": "null"}]}),
            "signatures": _array(SIGNATURE),
        }
    )
    sample = _object({"key": TEXT, "values": _array(NUMBER_OR_NULL), "spread": NUMBER_OR_NULL})
    return {
        **_header("compare", "losscli compare --format json"),
        **_object(
            {
                "schema_version": {"const": SCHEMA_VERSION},
                "losscli_version": TEXT,
                "models": _array(TEXT),
                "paths": _array(TEXT),
                "labels": TEXT,
                "n_samples": _array(COUNT),
                "n_paired": COUNT,
                "method": TEXT,
                **_TESTING,
                "confidence": NUMBER,
                "losses": _array(loss),
                "disagreements": _object(
                    {
                        "by": TEXT_OR_NULL,
                        "key": {"enum": ["id", "row"]},
                        "samples": _array(sample),
                    }
                ),
                "group_by": _array(TEXT),
                "slices": _array(_compared_slice(diff)),
            },
            optional=("group_by", "slices"),
        ),
    }


SCHEMAS = {"compute": compute_schema, "check": check_schema, "compare": compare_schema}


def schema_json(name: str) -> str:
    """The schema of one command's JSON document, as printed by ``losscli schema NAME``."""
    return json.dumps(SCHEMAS[name](), indent=2, ensure_ascii=False)
