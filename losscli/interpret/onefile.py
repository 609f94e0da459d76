"""One-file mode: PREDS holds the labels too (``--label-col``), LABELS left out.

The same file is read as both sides, so rows match by position; the prediction columns
default to its numeric columns but the label and id columns. ``compare`` reads the labels
from its first file, and several ``--pred-cols`` name the models held by one file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from losscli.errors import UsageError
from losscli.interpret.plan import Options
from losscli.io.sources import Source, TableSource


def one_file_options(src: Source, options: Options, labels_key: str | None = None) -> Options:
    """``options`` for reading ``src`` as predictions and labels at once: a table's label
    column (``--label-col``), or an ``.npz``'s labels array (``--labels-key``)."""
    if not isinstance(src, TableSource):
        if labels_key is not None and not options.label_cols:
            return options  # --preds-key and --labels-key name two arrays of one .npz
        raise UsageError(
            f"LABELS left out: {src.name} is an array; name the .npz array that holds the "
            "labels (--labels-key KEY), or give a LABELS file"
        )
    if not options.label_cols:
        raise UsageError(
            f"LABELS left out but no --label-col: name the column of {src.name} that holds "
            "the labels (--label-col NAME), or give a LABELS file"
        )
    if options.pred_cols:
        return options
    skip = {*options.label_cols, options.id_col}
    cols = [c for c in src.columns if c not in skip and c.strip() and src.is_numeric(c)]
    if not cols:
        raise UsageError(
            f"{src.name}: no numeric column besides {', '.join(sorted(c for c in skip if c))} "
            "to read as predictions; name them with --pred-cols"
        )
    return replace(options, pred_cols=tuple(cols))


Model = tuple[Path, tuple[str, ...]]  # a predictions file and its columns (() for the default)


def compare_models_of(
    preds: Sequence[Path],
    labels: Path | None,
    label_cols: Sequence[str] | None,
    model_cols: Sequence[tuple[str, ...]],
) -> list[Model]:
    """The models ``compare`` evaluates: one per file, or one per ``--pred-cols`` of one file."""
    if labels is None and not label_cols:
        raise UsageError(
            "give --labels LABELS (or set labels in [tool.losscli]), or --label-col NAME when "
            "the prediction files hold the labels"
        )
    if model_cols:
        if len(preds) != 1:
            raise UsageError(
                f"several --pred-cols name the models of one file; got {len(preds)} files "
                "(give one file, or one --pred-cols for every file)"
            )
        return [(preds[0], cols) for cols in model_cols]
    if len(preds) < 2:
        raise UsageError(
            f"compare needs at least two prediction files, got {len(preds)}; or one file "
            "with a --pred-cols for each model (e.g. --pred-cols a0,a1 --pred-cols b0,b1)"
        )
    return [(p, ()) for p in preds]


def model_options(
    src: Source, options: Options, cols: tuple[str, ...], *, one_file: bool
) -> Options:
    """``options`` for one model of ``compare``: its own columns, one-file defaults."""
    if cols:
        options = replace(options, pred_cols=cols)
    return one_file_options(src, options) if one_file else options


def model_name(path: str, cols: tuple[str, ...]) -> str:
    """A model of one file named by its file and columns: ``results.parquet[a0,a1,a2]``."""
    return f"{path}[{','.join(cols)}]"
