"""One-file mode: PREDS holds the labels too (``--label-col``), LABELS left out.

The same file is read as both sides, so rows match by position; the prediction columns
default to its numeric columns but the label and id columns.
"""

from __future__ import annotations

from dataclasses import replace

from losscli.errors import UsageError
from losscli.interpret.plan import Options
from losscli.io.sources import Source, TableSource


def one_file_options(src: Source, options: Options) -> Options:
    """``options`` for reading ``src`` as predictions and labels at once."""
    if not options.label_cols:
        raise UsageError(
            f"LABELS left out but no --label-col: name the column of {src.name} that holds "
            "the labels (--label-col NAME), or give a LABELS file"
        )
    if not isinstance(src, TableSource):
        raise UsageError(
            f"LABELS left out: {src.name} is an array; one-file mode needs a table with a "
            "label column (--label-col), or give a LABELS file"
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
