"""The command-line shell: parse options, call the API, render, map errors to exit codes."""

from __future__ import annotations

import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn, TypeVar

import typer

from losscli import __version__
from losscli.errors import ExitCode, LossCliError, UsageError
from losscli.render import FORMATS

Format = StrEnum("Format", {name: name for name in FORMATS})  # type: ignore[misc]


class Reduction(StrEnum):
    mean = "mean"
    sum = "sum"


class NanChoice(StrEnum):
    error = "error"
    skip = "skip"


class ConventionChoice(StrEnum):
    losscli = "losscli"
    torch = "torch"
    sklearn = "sklearn"
    keras = "keras"
    all = "all"


class Join(StrEnum):
    strict = "strict"
    inner = "inner"


app = typer.Typer(
    name="losscli",
    help="Evaluate predictions against labels: the loss values PyTorch and scikit-learn give, "
    "explained.",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)

T = TypeVar("T")
_debug = False


def _fail(message: str, code: int) -> NoReturn:
    from rich.console import Console

    Console(stderr=True, highlight=False, soft_wrap=True).print(f"[bold red]error:[/] {message}",
                                                                markup=True)
    raise typer.Exit(code)


def guarded(fn: Callable[[], T]) -> T:
    """The one error boundary: losscli errors -> one stderr line and their exit code."""
    try:
        return fn()
    except LossCliError as exc:
        if _debug:
            raise
        _fail(_escape(str(exc)), int(exc.exit_code))
    except (typer.Exit, typer.Abort, KeyboardInterrupt):
        raise
    except Exception as exc:
        if _debug:
            raise
        _fail(_escape(f"internal error: {type(exc).__name__}: {exc} "
                      "(run with --debug for the traceback and please report it)"),
              int(ExitCode.INTERNAL))


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"losscli {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    global _debug
    _debug = debug


def _print(rendered: object) -> None:
    from rich.console import Console

    if isinstance(rendered, str):
        sys.stdout.write(rendered if rendered.endswith("\n") else rendered + "\n")
        sys.stdout.flush()
    else:
        Console(highlight=False).print(rendered)


@app.command()
def compute(
    preds: Annotated[Path, typer.Argument(help="Predictions file (.csv .tsv .gz .npy .npz "
                                                ".parquet).", show_default=False)],
    labels: Annotated[Path, typer.Argument(help="Labels file.", show_default=False)],
    loss: Annotated[list[str], typer.Option("--loss", "-l", help="Loss spec: name or "
                    "name:key=value,... (repeatable), e.g. ce:label_smoothing=0.1.",
                    show_default=False)],
    logits: Annotated[bool, typer.Option("--logits", help="Predictions are logits.")] = False,
    probs: Annotated[bool, typer.Option("--probs", help="Predictions are probabilities.")] = False,
    reduction: Annotated[Reduction, typer.Option(help="Mean over samples or sum.")] = Reduction.mean,
    convention: Annotated[ConventionChoice, typer.Option(help="Follow a library's defaults "
                          "where they differ (probabilities at 0/1, KL's mean); 'all' shows "
                          "each side by side.")] = ConventionChoice.losscli,
    id_col: Annotated[str | None, typer.Option("--id-col", help="Align the files by this id "
                                               "column instead of by row order.")] = None,
    join: Annotated[Join, typer.Option(help="With --id-col: 'strict' fails on ids present in "
                                       "one file only; 'inner' evaluates the shared ids.")
                    ] = Join.strict,
    pred_cols: Annotated[str | None, typer.Option("--pred-cols", help="Comma-separated "
                         "prediction columns (default: every numeric column but the id).")
                         ] = None,
    label_col: Annotated[list[str] | None, typer.Option("--label-col", help="Label column "
                         "(repeat for soft labels; default: the labels file's only column).")
                         ] = None,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Output format.")
                   ] = Format.table,  # type: ignore[attr-defined]
    precision: Annotated[int, typer.Option(min=1, max=17, help="Significant digits shown "
                                           "(JSON and CSV keep full precision).")] = 10,
    top: Annotated[int, typer.Option(min=0, help="Rows in the worst-samples table "
                                     "(0 hides it).")] = 10,
    by_class: Annotated[bool, typer.Option("--by-class", help="Add a table of mean loss, "
                        "count and share of the total per true class.")] = False,
    per_sample: Annotated[Path | None, typer.Option("--per-sample", help="Write every row's "
                          "losses to this .csv or .parquet file.")] = None,
    nan: Annotated[NanChoice, typer.Option(help="NaN or infinite values: 'error' names the "
                                           "rows; 'skip' leaves them out.")] = NanChoice.error,
    class_axis: Annotated[int, typer.Option("--class-axis", help="Axis of the class scores in "
                          "N-d prediction arrays: 1 as in torch (N, C, H, W), -1 for "
                          "channels-last (N, H, W, C).")] = 1,
    preds_key: Annotated[str | None, typer.Option(help="Array name in a .npz predictions file."
                                                  )] = None,
    labels_key: Annotated[str | None, typer.Option(help="Array name in a .npz labels file.")
                          ] = None,
    chunk_rows: Annotated[int, typer.Option(min=1, hidden=True)] = 1 << 20,
) -> None:
    """Compute losses of PREDS against LABELS and show how the inputs were read."""

    def run() -> None:
        from losscli.api import compute_files
        from losscli.inputs import Kind, NanPolicy, Options

        if logits and probs:
            raise UsageError("--logits and --probs contradict each other; give one")
        options = Options(
            pred_cols=tuple(c.strip() for c in pred_cols.split(",") if c.strip())
            if pred_cols else None,
            label_cols=tuple(label_col) if label_col else None,
            id_col=id_col,
            kind=Kind.LOGITS if logits else Kind.PROBS if probs else None,
            nan=NanPolicy(nan.value),
            allow_unmatched=join is Join.inner,
            class_axis=class_axis,
        )
        writer = None
        if per_sample is not None:
            from losscli.persample import PerSampleWriter

            writer = PerSampleWriter(per_sample)
        try:
            report = compute_files(preds, labels, loss, options, reduction=reduction.value,
                                   top=top, sink=writer, preds_key=preds_key,
                                   labels_key=labels_key, chunk_rows=chunk_rows,
                                   convention=convention.value, by_class=by_class)
        except BaseException:
            if writer is not None:
                writer.discard()
            raise
        if writer is not None:
            writer.commit()
        _print(FORMATS[fmt.value](report, precision))

    guarded(run)


@app.command()
def losses() -> None:
    """List every loss: name, aliases, tasks, parameters and the reference it matches."""

    def run() -> None:
        from losscli.losses import LOSSES
        from losscli.render import loss_table

        _print(loss_table(LOSSES))

    guarded(run)


@app.command()
def explain(
    name: Annotated[str, typer.Argument(help="A loss name or alias, e.g. ce or kl_div.",
                                        show_default=False)],
) -> None:
    """Explain a loss: formula, what it measures, strengths, weaknesses, library differences."""

    def run() -> None:
        from losscli.explanations import explanation_for
        from losscli.render import explain_view
        from losscli.spec import find_loss

        loss = find_loss(name)
        _print(explain_view(loss, explanation_for(loss.name)))

    guarded(run)


def main() -> None:
    """Console-script entry point."""
    app()
