"""The command-line shell: parse options, call the API, render, map errors to exit codes."""

from __future__ import annotations

from collections.abc import Callable, Collection
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer

from losscli.ci.choices import TestMethod
from losscli.cli.feedback import configure, error_annotation, note, progress_bar, warn
from losscli.cli.help import Group
from losscli.engine.choices import (
    CONVENTION_CHOICES,
    DEFAULT_SAMPLES,
    DEFAULT_SEED,
    CiMethod,
    Reduction,
)
from losscli.errors import (
    READER_GONE,
    CheckFailed,
    ExitCode,
    Interrupted,
    LossCliError,
    UsageError,
)
from losscli.interpret.choices import ClassLabels, Join, NanPolicy
from losscli.io.formats import FORMAT_NAMES, known_suffixes
from losscli.report.formats import CHECK_NAMES, COMPARE_NAMES, COMPUTE_NAMES, LOSS_NAMES

Format = StrEnum("Format", {name: name for name in COMPUTE_NAMES})  # type: ignore[misc]
LossFormat = StrEnum("LossFormat", {name: name for name in LOSS_NAMES})  # type: ignore[misc]


# Choices come from the domain's own enums (their values are what users type).
ConventionChoice = StrEnum(  # type: ignore[misc]
    "ConventionChoice", {c: c for c in CONVENTION_CHOICES}
)
DEFAULT_CONVENTION = ConventionChoice("losscli")


# Input options shared by compute, check and compare. For join and nan, None means "from the
# config file (check, compare), else the default".
LogitsOpt = Annotated[bool, typer.Option("--logits", help="Predictions are logits.")]
ProbsOpt = Annotated[bool, typer.Option("--probs", help="Predictions are probabilities.")]
IdColOpt = Annotated[
    str | None,
    typer.Option("--id-col", help="Align the files by this id column instead of by row order."),
]
JoinOpt = Annotated[
    Join | None,
    typer.Option(
        "--join",
        help="With --id-col: 'strict' (default) fails on ids present in one file only; "
        "'inner' evaluates the shared ids.",
        show_default=False,
    ),
]
PredColsOpt = Annotated[
    str | None,
    typer.Option(
        "--pred-cols",
        help="Comma-separated prediction columns (default: every numeric column but the id).",
    ),
]
LabelColOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--label-col",
        help="Label column (repeat for soft labels; default: the labels file's only column).",
    ),
]
NanOpt = Annotated[
    NanPolicy | None,
    typer.Option(
        "--nan",
        help="NaN or infinite values: 'error' (default) names the rows; 'skip' leaves them out.",
        show_default=False,
    ),
]
PredsKeyOpt = Annotated[
    str | None, typer.Option("--preds-key", help="Array name in .npz prediction files.")
]
LabelsKeyOpt = Annotated[
    str | None, typer.Option("--labels-key", help="Array name in a .npz labels file.")
]
ChunkRowsOpt = Annotated[int, typer.Option("--chunk-rows", min=1, hidden=True)]
TestOpt = Annotated[
    TestMethod | None,
    typer.Option(
        "--test",
        help="Paired test of the differences: 't' (default), 'bootstrap' (paired bootstrap on "
        "shared resamples) or 'permutation' (approximate randomization, sign flips).",
        show_default=False,
    ),
]
MaybeSamplesOpt = Annotated[
    int | None,
    typer.Option(
        "--bootstrap-samples",
        min=1,
        help=f"Resamples of --test bootstrap|permutation (default {DEFAULT_SAMPLES}).",
        show_default=False,
    ),
]
MaybeSeedOpt = Annotated[
    int | None,
    typer.Option(
        "--seed",
        min=0,
        max=2**63 - 1,
        help=f"Seed of the resamples (default {DEFAULT_SEED}).",
        show_default=False,
    ),
]
CiOpt = Annotated[
    CiMethod,
    typer.Option(
        "--ci",
        help="How the 95% intervals are made: 't' (Student-t, cut to the loss's range) or "
        "'bootstrap' (percentile, seeded Poisson bootstrap).",
    ),
]
SamplesOpt = Annotated[
    int,
    typer.Option("--bootstrap-samples", min=1, help="Bootstrap replicates (with --ci bootstrap)."),
]
SeedOpt = Annotated[
    int,
    typer.Option(
        "--seed", min=0, max=2**63 - 1, help="Seed of the bootstrap and permutation draws."
    ),
]
WeightColOpt = Annotated[
    str | None,
    typer.Option(
        "--weight-col",
        help="Per-row sample weights (>= 0) from this column of either file or --meta: "
        "the mean is Σwℓ/Σw as scikit-learn's sample_weight.",
    ),
]
GroupByOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--group-by",
        help="Also report the losses per value of this column of either file or --meta "
        "(repeatable: columns are crossed).",
        show_default=False,
    ),
]
MetaOpt = Annotated[
    Path | None,
    typer.Option(
        "--meta",
        help="A third table holding --weight-col or --group-by columns, matched by row "
        "order or --id-col.",
    ),
]
MinSliceOpt = Annotated[
    int | None,
    typer.Option(
        "--min-slice-size",
        min=0,
        help="Hide the losses of slices with fewer rows (their count is still shown).",
        show_default=False,
    ),
]


class EngineChoice(StrEnum):
    """``--engine``: the evaluate loop in this process, or its partitions on Dask."""

    LOCAL = "local"
    DASK = "dask"


EngineOpt = Annotated[
    EngineChoice,
    typer.Option(
        "--engine",
        help="'local' (this process) or 'dask': each shard of a folder, glob or dataset is a "
        "Dask partition evaluated by a worker (needs losscli[dask]).",
    ),
]
SchedulerOpt = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        help="With --engine dask: the address of a running dask.distributed scheduler "
        "(default: a local cluster).",
        show_default=False,
    ),
]
WorkersOpt = Annotated[
    int | None,
    typer.Option(
        "--workers",
        min=1,
        help="With --engine dask: worker processes of the local cluster (default 2).",
        show_default=False,
    ),
]


def _engine(engine: EngineChoice, scheduler: str | None, workers: int | None) -> Any:
    """``--engine``, ``--scheduler`` and ``--workers`` as a ``DaskEngine`` (None: local)."""
    if engine is EngineChoice.LOCAL:
        given = [name for name, v in (("--scheduler", scheduler), ("--workers", workers)) if v]
        if given:
            raise UsageError(f"{' and '.join(given)} apply to --engine dask; add --engine dask")
        return None
    if scheduler is not None and workers is not None:
        raise UsageError(
            "--workers sizes a local cluster; with --scheduler the cluster has its own workers"
        )
    from losscli.engine.distributed import DaskEngine, check_available

    check_available()
    return DaskEngine(scheduler, 2 if workers is None else workers)


_CONFIG_HELP = (
    "Config file (default: the nearest losscli.toml, or pyproject.toml with "
    "\\[tool.losscli], from the working directory upwards)."  # \\[: not Rich markup
)
_OUTPUT_HELP = (
    "Also write the report to this file; the suffix names the format: .json, .md, "
    ".html, .xml (JUnit, check only), .csv (compute only), .txt (repeatable)."
)
_INPUT_FORMAT_HELP = "Format of {what} read from standard input ('-'): " + ", ".join(FORMAT_NAMES)
HeaderOpt = Annotated[
    bool | None,
    typer.Option(
        "--header/--no-header",
        help="Whether the first row of CSV/TSV inputs is a header (default: decided from the "
        "row and said why).",
        show_default=False,
    ),
]
DelimiterOpt = Annotated[
    str | None,
    typer.Option(
        "--delimiter",
        help="Field separator of CSV/TSV inputs, e.g. ';' (default: ',' for CSV, tab for TSV).",
        show_default=False,
    ),
]
DecimalOpt = Annotated[
    str, typer.Option("--decimal", help="Decimal mark of CSV/TSV inputs, e.g. ','.")
]
ClassLabelsOpt = Annotated[
    ClassLabels | None,
    typer.Option(
        "--class-labels",
        help="Whole-number labels against columns named by numbers: 'index' (positions "
        "0..C-1) or 'name' (the column headers). Asked for only when both fit.",
        show_default=False,
    ),
]
ConfigOpt = Annotated[Path | None, typer.Option("--config", help=_CONFIG_HELP)]
QuietOpt = Annotated[
    bool,
    typer.Option("--quiet", "-q", help="Print nothing but errors (the exit code is the same)."),
]
VerboseOpt = Annotated[
    bool,
    typer.Option(
        "--verbose", "-v", help="Explain every decision, the chunks read and timings on stderr."
    ),
]
OutputOpt = Annotated[
    list[Path] | None, typer.Option("--output", "-o", help=_OUTPUT_HELP, show_default=False)
]
PredsFormatOpt = Annotated[
    str | None,
    typer.Option("--preds-format", help=_INPUT_FORMAT_HELP.format(what="predictions")),
]
LabelsFormatOpt = Annotated[
    str | None, typer.Option("--labels-format", help=_INPUT_FORMAT_HELP.format(what="labels"))
]


app = typer.Typer(
    name="losscli",
    help="Evaluate predictions against labels: the loss values PyTorch and scikit-learn give, "
    "explained.",
    no_args_is_help=True,
    add_completion=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
    cls=Group,
)

T = TypeVar("T")
_debug = False


def _render(table: str, name: str) -> Callable[..., Any]:
    """The renderer of format ``name`` in ``losscli.report.render``'s ``table`` (imported
    now, not at start-up: it loads NumPy and Rich). compute's JSON comes straight from
    ``losscli.report.compute``, which loads no Rich (the same function ``render`` lists)."""
    if (table, name) == ("FORMATS", "json"):
        from losscli.report.compute import report_json

        return report_json
    from losscli.report import render

    renderers: dict[str, Callable[..., Any]] = getattr(render, table)
    return renderers[name]


def _fail(message: str, code: int) -> NoReturn:
    from losscli.report.render import print_error

    print_error(message)
    raise typer.Exit(code)


def _stopped(stop: Interrupted) -> NoReturn:
    """An interrupted run: its one line on stderr and exit 128 + the signal."""
    if _debug:
        raise stop
    _fail(str(stop), int(stop.exit_code))


def guarded(fn: Callable[[], T], quiet: bool = False, verbose: bool = False) -> T:
    """The one error boundary: losscli errors -> one stderr line and their exit code.

    ``quiet`` and ``verbose`` are the command's ``--quiet`` and ``--verbose``."""
    try:
        configure(quiet, verbose)
        with progress_bar():
            out = fn()
        note("done, exit 0")
        return out
    except LossCliError as exc:
        if _debug:
            raise
        if not isinstance(exc, CheckFailed):  # failed rules are annotated one by one
            error_annotation(str(exc))
        _fail(str(exc), int(exc.exit_code))
    except (typer.Exit, typer.Abort):
        raise
    except KeyboardInterrupt:  # SIGINT under the default handler (in-process runs)
        from losscli.cli.signals import interruption

        _stopped(interruption(2))
    except Interrupted as stop:
        _stopped(stop)
    except Exception as exc:
        if _debug:
            raise
        _fail(
            f"internal error: {type(exc).__name__}: {exc} "
            "(run with --debug for the traceback and please report it)",
            int(ExitCode.INTERNAL),
        )


def _version(value: bool) -> None:
    if value:
        import losscli

        typer.echo(f"losscli {losscli.__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    global _debug
    _debug = debug


def _print_reliability(report: Any, fmt: str, precision: int) -> None:
    """``--calibration``: the reliability tables after the report (JSON has them as bins)."""
    from losscli.report.calibration import RELIABILITY_FORMATS

    if not any(r.bins for r in report.results):
        raise UsageError(
            "--calibration shows the confidence bins of a calibration loss; add --loss ece (or mce)"
        )
    render = RELIABILITY_FORMATS.get(fmt)
    if render is not None:
        _print(render(report, precision))


def _print(rendered: object) -> None:
    from losscli.cli.feedback import show

    show(rendered)


def _testing_fields(test: Any, samples: int | None, seed: int | None) -> dict[str, Any]:
    """``--test``, ``--bootstrap-samples``, ``--seed`` as ``Settings`` fields."""
    return {
        "test": None if test is None else test.value,
        "bootstrap_samples": samples,
        "seed": seed,
    }


def _meta_fields(
    weight_col: str | None, group_by: list[str] | None, meta: Path | None, min_slice: int | None
) -> dict[str, Any]:
    """--weight-col, --group-by, --meta and --min-slice-size as Settings fields."""
    return {
        "weight_col": weight_col,
        "group_by": tuple(group_by or ()),
        "meta": meta,
        "min_slice_size": min_slice,
    }


def _refuse_reading(flags: Any) -> None:
    """``check --state``: no option that says how to read files (exit 2)."""
    from losscli.ci.check import refuse_reading_options

    refuse_reading_options(flags)


def _text_fields(
    delimiter: str | None, decimal: str, header: bool | None, class_labels: Any
) -> dict[str, Any]:
    """--delimiter, --decimal, --header/--no-header and --class-labels as Settings fields."""
    from losscli.io.text import Dialect, dialect_of

    dialect = dialect_of(delimiter, decimal, header)
    return {
        "dialect": None if dialect == Dialect() else dialect,
        "class_labels": None if class_labels is None else class_labels.value,
    }


def _input_fields(
    logits: bool,
    probs: bool,
    id_col: str | None,
    join: Join | None,
    pred_cols: str | None,
    label_col: list[str] | None,
    nan: NanPolicy | None,
) -> dict[str, Any]:
    """The input options every command shares, as ``losscli.ci.config.Settings`` fields."""
    if logits and probs:
        raise UsageError("--logits and --probs contradict each other; give one")
    columns = tuple(c.strip() for c in (pred_cols or "").split(",") if c.strip())
    return {
        "id_col": id_col,
        "join": None if join is None else join.value,
        "pred_cols": columns or None,
        "label_col": tuple(label_col) if label_col else None,
        "kind": "logits" if logits else "probs" if probs else None,
        "nan": None if nan is None else nan.value,
    }


@app.command()
def compute(
    preds: Annotated[
        Path,
        typer.Argument(help=f"Predictions file ({known_suffixes()}).", show_default=False),
    ],
    loss: Annotated[
        list[str],
        typer.Option(
            "--loss",
            "-l",
            help="Loss spec: name or name:key=value,... (repeatable), e.g. ce:label_smoothing=0.1.",
            show_default=False,
        ),
    ],
    labels: Annotated[
        Path | None,
        typer.Argument(
            help="Labels file (leave out when --label-col names a column of PREDS).",
            show_default=False,
        ),
    ] = None,
    logits: LogitsOpt = False,
    probs: ProbsOpt = False,
    reduction: Annotated[
        Reduction, typer.Option(help="Mean over samples or sum.")
    ] = Reduction.MEAN,
    convention: Annotated[
        ConventionChoice,
        typer.Option(
            help="Follow a library's defaults "
            "where they differ (probabilities at 0/1, KL's mean); 'all' shows "
            "each side by side."
        ),
    ] = DEFAULT_CONVENTION,
    id_col: IdColOpt = None,
    join: JoinOpt = None,
    pred_cols: PredColsOpt = None,
    label_col: LabelColOpt = None,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.table,  # type: ignore[attr-defined]
    output: OutputOpt = None,
    precision: Annotated[
        int,
        typer.Option(
            min=1, max=17, help="Significant digits shown (JSON and CSV keep full precision)."
        ),
    ] = 10,
    top: Annotated[
        int, typer.Option(min=0, help="Rows in the worst-samples table (0 hides it).")
    ] = 10,
    by_class: Annotated[
        bool,
        typer.Option(
            "--by-class",
            help="Add a table of mean loss, count and share of the total per true class.",
        ),
    ] = False,
    hist: Annotated[
        bool,
        typer.Option(
            "--hist",
            help="Add a histogram of each loss's per-sample values (table format; JSON and "
            "Markdown always carry the distribution).",
        ),
    ] = False,
    per_sample: Annotated[
        Path | None,
        typer.Option(
            "--per-sample", help="Write every row's losses to this .csv or .parquet file."
        ),
    ] = None,
    calibration: Annotated[
        bool,
        typer.Option(
            "--calibration",
            help="Add the reliability table (bin, count, confidence, accuracy, gap) of each "
            "ece or mce loss; JSON always carries the bins.",
        ),
    ] = False,
    nan: NanOpt = None,
    save_state: Annotated[
        Path | None,
        typer.Option(
            "--save-state",
            help="Also write the exact accumulator state (JSON) to this file, for 'losscli merge'.",
        ),
    ] = None,
    class_axis: Annotated[
        int,
        typer.Option(
            "--class-axis",
            help="Axis of the class scores in "
            "N-d prediction arrays: 1 as in torch (N, C, H, W), -1 for "
            "channels-last (N, H, W, C).",
        ),
    ] = 1,
    class_labels: Annotated[
        ClassLabels | None,
        typer.Option(
            "--class-labels",
            help="Whole-number labels against columns named by numbers: 'index' (positions "
            "0..C-1) or 'name' (the column headers). Asked for only when both fit.",
            show_default=False,
        ),
    ] = None,
    preds_key: PredsKeyOpt = None,
    labels_key: LabelsKeyOpt = None,
    preds_format: PredsFormatOpt = None,
    labels_format: LabelsFormatOpt = None,
    ci: CiOpt = CiMethod.T,
    bootstrap_samples: SamplesOpt = DEFAULT_SAMPLES,
    seed: SeedOpt = DEFAULT_SEED,
    weight_col: WeightColOpt = None,
    group_by: GroupByOpt = None,
    meta: MetaOpt = None,
    min_slice_size: MinSliceOpt = None,
    chunk_rows: ChunkRowsOpt = 1 << 17,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    header: HeaderOpt = None,
    delimiter: DelimiterOpt = None,
    decimal: DecimalOpt = ".",
    engine: EngineOpt = EngineChoice.LOCAL,
    scheduler: SchedulerOpt = None,
    workers: WorkersOpt = None,
) -> None:
    """Compute losses of PREDS against LABELS and show how the inputs were read.

    Either file may be - (standard input) with --preds-format or --labels-format."""

    def run() -> None:
        from dataclasses import replace

        from losscli.io.digest import hash_ahead

        hash_ahead((preds, labels, meta))
        from losscli.api import compute_files
        from losscli.ci.config import Settings, settings_options
        from losscli.engine.intervals import Intervals
        from losscli.io.text import dialect_of

        outputs = _compute_outputs(output, fmt.value, (preds, labels, meta))
        dialect = dialect_of(delimiter, decimal, header)
        inputs = _input_fields(logits, probs, id_col, join, pred_cols, label_col, nan)
        inputs |= _meta_fields(weight_col, group_by, meta, min_slice_size)
        options = replace(
            settings_options(Settings(**inputs)), class_axis=class_axis, class_labels=class_labels
        )
        writer, dask = _per_sample(per_sample, (preds, labels or preds), engine, scheduler, workers)
        try:
            report = compute_files(
                preds,
                labels,
                loss,
                options,
                reduction=reduction.value,
                top=top,
                sink=writer if dask is None else None,
                preds_key=preds_key,
                labels_key=labels_key,
                chunk_rows=chunk_rows,
                convention=convention.value,
                by_class=by_class or _html_classes(fmt.value, outputs),
                preds_format=preds_format,
                labels_format=labels_format,
                intervals=Intervals.of(ci.value, bootstrap_samples, seed),
                dialect=dialect,
                save_state=save_state,
                meta=meta,
                min_slice_size=min_slice_size or 0,
                engine=dask,
            )
        except BaseException:
            if writer is not None:
                writer.discard()
            raise
        if writer is not None:
            writer.commit()
        _show_report(report, fmt.value, precision, hist=hist, calibration=calibration)
        _write_compute(outputs, report, precision)

    guarded(run, quiet, verbose)


def _compute_outputs(
    paths: list[Path] | None, fmt: str, inputs: tuple[Path | None, ...]
) -> list[tuple[Path, str]]:
    """compute's ``-o`` files, checked before any work; HTML asked for needs matplotlib."""
    from losscli.io.outputs import check_target

    outputs = _outputs(paths, COMPUTE_NAMES)
    for path, _ in outputs:
        check_target("-o", path, inputs)
    _need_charts(fmt, outputs)
    return outputs


def _need_charts(fmt: str, outputs: list[tuple[Path, str]]) -> None:
    """Exit 2 with the pip command, before any work, when HTML is asked for without matplotlib."""
    if fmt == "html" or any(name == "html" for _, name in outputs):
        from losscli.report.charts import require

        require()


def _html_classes(fmt: str, outputs: list[tuple[Path, str]]) -> bool | None:
    """False, or None (per-class rows when the task has classes) when HTML is asked for."""
    wanted = fmt == "html" or any(name == "html" for _, name in outputs)
    return None if wanted else False


def _write_compute(outputs: list[tuple[Path, str]], report: Any, precision: int) -> None:
    if not outputs:
        return
    from losscli.io.outputs import write_text
    from losscli.report.render import plain_text

    for path, name in outputs:
        write_text(path, plain_text(_render("FORMATS", name)(report, precision)), "-o")


def _per_sample(
    path: Path | None,
    inputs: tuple[Path, Path],
    engine: EngineChoice,
    scheduler: str | None,
    workers: int | None,
) -> tuple[Any, Any]:
    """The ``--per-sample`` writer (a file, or a folder of parts on Dask) and the engine."""
    dask = _engine(engine, scheduler, workers)
    if path is None:
        return None, dask
    if dask is not None:
        from dataclasses import replace

        from losscli.io.sinks import PerSampleFolder

        folder = PerSampleFolder(path, inputs=inputs)
        return folder, replace(dask, per_sample=folder.parts)
    from losscli.io.sinks import PerSampleWriter

    return PerSampleWriter(path, inputs=inputs), None


def _show_report(report: Any, fmt: str, precision: int, *, hist: bool, calibration: bool) -> None:
    """Print compute's report; ``--hist`` histograms and the ``--calibration`` table after."""
    rendered = _render("FORMATS", fmt)(report, precision)
    if hist and fmt == "table":
        from losscli.report.distribution import with_histograms

        rendered = with_histograms(rendered, report.results)
    _print(rendered)
    if calibration:
        _print_reliability(report, fmt, precision)


@app.command()
def losses(
    fmt: Annotated[LossFormat, typer.Option("--format", "-f", help="Output format.")] = (
        LossFormat.table  # type: ignore[attr-defined]
    ),
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """List every loss: name, aliases, tasks, parameters and the reference it matches."""

    def run() -> None:
        from losscli.losses import LOSSES

        _print(_render("LOSS_FORMATS", fmt.value)(LOSSES))

    guarded(run, quiet, verbose)


@app.command()
def explain(
    name: Annotated[
        str, typer.Argument(help="A loss name or alias, e.g. ce or kl_div.", show_default=False)
    ],
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Explain a loss: formula, what it measures, strengths, weaknesses, library differences."""

    def run() -> None:
        from losscli.losses.explanations import explanation_for
        from losscli.report.render import explain_view
        from losscli.spec import find_loss

        loss = find_loss(name)
        _print(explain_view(loss, explanation_for(loss.name)))

    guarded(run, quiet, verbose)


class SchemaName(StrEnum):
    compute = "compute"
    check = "check"
    compare = "compare"


@app.command()
def schema(
    name: Annotated[
        SchemaName,
        typer.Argument(help="The command whose --format json document to describe."),
    ],
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Print the JSON Schema (draft 2020-12) of the JSON that compute, check or compare write."""

    def run() -> None:
        from losscli.report.schema import schema_json

        _print(schema_json(name.value))

    guarded(run, quiet, verbose)


# --------------------------------------------------------------------------- check and compare

CheckFormat = StrEnum("CheckFormat", {name: name for name in CHECK_NAMES})  # type: ignore[misc]
CompareFormat = StrEnum("CompareFormat", {n: n for n in COMPARE_NAMES})  # type: ignore[misc]


def _outputs(paths: list[Path] | None, formats: Collection[str]) -> list[tuple[Path, str]]:
    """``-o`` paths with the format each suffix names, checked before any work is done."""
    from losscli.io.outputs import check_target
    from losscli.report.formats import OUTPUT_SUFFIXES

    out = []
    for path in paths or []:
        fmt = OUTPUT_SUFFIXES.get(path.suffix.lower())
        if fmt not in formats:
            known = ", ".join(s for s, f in OUTPUT_SUFFIXES.items() if f in formats)
            raise UsageError(
                f"-o {path}: cannot tell the format from the suffix "
                f"{path.suffix or '(none)'!r}; use one of {known}"
            )
        check_target("-o", path)
        out.append((path, str(fmt)))
    return out


def _not_inputs(outputs: list[tuple[Path, str]], settings: Any, *more: Path) -> None:
    """Refuse an ``-o`` path that is one of the run's inputs (files, baseline, config)."""
    from losscli.io.outputs import check_target

    names = ("source", "preds", "labels", "baseline", "baseline_preds")
    inputs = [*(getattr(settings, n) for n in names), *more]
    for path, _ in outputs:
        check_target("-o", path, inputs)


def _write_reports(
    outputs: list[tuple[Path, str]], render: Callable[[str], Any], markdown: Callable[[], str]
) -> None:
    """Write ``-o`` files and append to $GITHUB_STEP_SUMMARY (before any failing exit)."""
    import os

    from losscli.io.outputs import write_text
    from losscli.report.render import plain_text

    for path, fmt in outputs:
        write_text(path, plain_text(render(fmt)), "-o")
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        from losscli.report.render import fit_step_summary

        try:
            path = Path(summary)
            text = fit_step_summary(markdown(), path.stat().st_size if path.exists() else 0)
            if not text:
                warn(f"GITHUB_STEP_SUMMARY {summary} is full (1 MiB); the report is not added")
                return
            with path.open("a", encoding="utf-8") as fh:
                fh.write(text)
        except OSError as exc:
            warn(f"cannot append to GITHUB_STEP_SUMMARY {summary}: {exc.strerror}")


def _announce(report: Any, exit_zero: bool) -> None:
    """Warnings on stderr; under GitHub Actions an annotation per failed rule and warning."""
    from losscli.report.render import data_differ_line

    title = "losscli check"
    for message in report.warnings:
        warn(message, title)
    differ = data_differ_line(report)
    if differ:  # the report's first line says it already
        warn(differ, title, echo=False)
    for o in report.failures:
        if exit_zero:
            warn(o.message, f"{title}: {o.title}", echo=False)
        else:
            error_annotation(o.message, f"{title}: {o.title}")


@app.command()
def check(
    preds: Annotated[
        Path | None,
        typer.Argument(
            help="Predictions file, or - for standard input (default: preds from the config).",
            show_default=False,
        ),
    ] = None,
    labels: Annotated[
        Path | None,
        typer.Argument(help="Labels file (default: labels from the config).", show_default=False),
    ] = None,
    loss: Annotated[
        list[str] | None,
        typer.Option(
            "--loss",
            "-l",
            help="Loss spec "
            "(repeatable; default: loss from the config, else the losses the rules "
            "name).",
            show_default=False,
        ),
    ] = None,
    max_: Annotated[
        list[str] | None,
        typer.Option(
            "--max",
            help="Ceiling SPEC=VALUE, e.g. "
            "ce=0.35; SPEC is the --loss spec as written (repeatable).",
            show_default=False,
        ),
    ] = None,
    baseline: Annotated[
        Path | None,
        typer.Option(
            "--baseline",
            help="Baseline report: the JSON that 'losscli compute --format json' writes.",
        ),
    ] = None,
    baseline_preds: Annotated[
        Path | None,
        typer.Option(
            "--baseline-preds",
            help="Baseline predictions on the same labels (allows a paired test).",
        ),
    ] = None,
    max_increase: Annotated[
        list[str] | None,
        typer.Option(
            "--max-increase",
            help="Allowed "
            "increase over the baseline: 2% (relative) or 0.01 (absolute) for "
            "every loss, or SPEC=2% for one (repeatable; default 0 with a "
            "baseline).",
            show_default=False,
        ),
    ] = None,
    significant: Annotated[
        bool | None,
        typer.Option(
            "--significant/--no-significant",
            help="Fail an increase only when it is significant at 95% (paired "
            "t-test with --baseline-preds, else Welch's test from n and std).",
            show_default=False,
        ),
    ] = None,
    allow_different_data: Annotated[
        bool | None,
        typer.Option(
            "--allow-different-data/--no-allow-different-data",
            help="Compare with a baseline computed on other data (other labels, n, task or "
            "classes, as its signatures say); the report says so first. Without it, exit 3.",
            show_default=False,
        ),
    ] = None,
    exit_zero: Annotated[
        bool, typer.Option("--exit-zero", help="Report failed rules but exit 0.")
    ] = False,
    config: ConfigOpt = None,
    fmt: Annotated[
        CheckFormat, typer.Option("--format", "-f", help="Report format.")
    ] = CheckFormat.table,  # type: ignore[attr-defined]
    output: OutputOpt = None,
    logits: LogitsOpt = False,
    probs: ProbsOpt = False,
    id_col: IdColOpt = None,
    join: JoinOpt = None,
    pred_cols: PredColsOpt = None,
    label_col: LabelColOpt = None,
    nan: NanOpt = None,
    preds_key: PredsKeyOpt = None,
    labels_key: LabelsKeyOpt = None,
    preds_format: PredsFormatOpt = None,
    labels_format: LabelsFormatOpt = None,
    test: TestOpt = None,
    bootstrap_samples: MaybeSamplesOpt = None,
    seed: MaybeSeedOpt = None,
    slice_max: Annotated[
        list[str] | None,
        typer.Option(
            "--slice-max",
            help="Ceiling SPEC=VALUE for every slice of --group-by, e.g. ce=0.5 (repeatable).",
            show_default=False,
        ),
    ] = None,
    weight_col: WeightColOpt = None,
    group_by: GroupByOpt = None,
    meta: MetaOpt = None,
    min_slice_size: MinSliceOpt = None,
    chunk_rows: ChunkRowsOpt = 1 << 17,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    engine: EngineOpt = EngineChoice.LOCAL,
    scheduler: SchedulerOpt = None,
    workers: WorkersOpt = None,
    header: HeaderOpt = None,
    delimiter: DelimiterOpt = None,
    decimal: DecimalOpt = ".",
    class_labels: ClassLabelsOpt = None,
    state: Annotated[
        list[Path] | None,
        typer.Option(
            "--state",
            help="Gate on states saved by 'losscli compute --save-state' (repeatable: merged "
            "as one run) instead of PREDS and LABELS.",
            show_default=False,
        ),
    ] = None,
) -> None:
    r"""Check losses against ceilings and a baseline; exit 1 when a rule fails (for CI).

    Rules: --max SPEC=VALUE; --max-increase with --baseline or --baseline-preds.
    With --state, the values come from saved states instead of files.

    Settings can come from \[tool.losscli] in pyproject.toml or from losscli.toml;
    the command line wins.
    """

    def run() -> None:
        from losscli.ci.check import check_files
        from losscli.ci.checks import parse_ceilings, parse_increases
        from losscli.ci.config import Settings, discover, merge
        from losscli.errors import CheckFailed
        from losscli.report.render import check_markdown

        outputs = _outputs(output, CHECK_NAMES)
        _need_charts(fmt.value, outputs)
        flags = Settings(
            preds=preds,
            labels=labels,
            loss=tuple(loss or ()),
            max=parse_ceilings(max_ or []),
            max_increase=parse_increases(max_increase or []),
            baseline=baseline,
            baseline_preds=baseline_preds,
            significant=significant,
            allow_different_data=allow_different_data,
            **_input_fields(logits, probs, id_col, join, pred_cols, label_col, nan),
            preds_key=preds_key,
            labels_key=labels_key,
            preds_format=preds_format,
            labels_format=labels_format,
            **_testing_fields(test, bootstrap_samples, seed),
            **_meta_fields(weight_col, group_by, meta, min_slice_size),
            slice_max=parse_ceilings(slice_max or [], "--slice-max"),
            **_text_fields(delimiter, decimal, header, class_labels),
        )
        if state:
            _refuse_reading(flags)
        settings = merge(discover(config), flags)
        _not_inputs(outputs, settings, *(state or ()))
        dask = _engine(engine, scheduler, workers)
        report = check_files(
            settings, chunk_rows=chunk_rows, engine=dask, states=tuple(state or ())
        )
        _print(_render("CHECK_FORMATS", fmt.value)(report))
        _write_reports(
            outputs,
            lambda name: _render("CHECK_FORMATS", name)(report),
            lambda: check_markdown(report),
        )
        _announce(report, exit_zero)
        if not report.passed:
            if not exit_zero:
                raise CheckFailed(f"check failed: {report.summary()}")
            warn(f"check failed (exit 0 because of --exit-zero): {report.summary()}", echo=True)

    guarded(run, quiet, verbose)


@app.command()
def compare(
    preds: Annotated[
        list[Path],
        typer.Argument(
            help="Two or more prediction files; the first "
            "is the reference (one may be - for standard input).",
            show_default=False,
        ),
    ],
    labels: Annotated[
        Path | None,
        typer.Option(
            "--labels", help="Labels file (default: labels from the config).", show_default=False
        ),
    ] = None,
    loss: Annotated[
        list[str] | None,
        typer.Option(
            "--loss",
            "-l",
            help="Loss spec (repeatable; default: loss from the config).",
            show_default=False,
        ),
    ] = None,
    top: Annotated[
        int, typer.Option(min=0, help="Samples in the disagreement list (0 hides it).")
    ] = 10,
    precision: Annotated[
        int,
        typer.Option(min=1, max=17, help="Significant digits shown (JSON keeps full precision)."),
    ] = 6,
    fmt: Annotated[
        CompareFormat,
        typer.Option(
            "--format", "-f", help="Output format (markdown fits a pull-request comment)."
        ),
    ] = CompareFormat.table,  # type: ignore[attr-defined]
    output: OutputOpt = None,
    config: ConfigOpt = None,
    logits: LogitsOpt = False,
    probs: ProbsOpt = False,
    id_col: IdColOpt = None,
    join: JoinOpt = None,
    pred_cols: Annotated[
        list[str] | None,
        typer.Option(
            "--pred-cols",
            help="Comma-separated prediction columns (default: every numeric column but the id "
            "and label). Repeat it to compare the models held by one file: one --pred-cols "
            "per model.",
            show_default=False,
        ),
    ] = None,
    label_col: LabelColOpt = None,
    nan: NanOpt = None,
    preds_key: PredsKeyOpt = None,
    labels_key: LabelsKeyOpt = None,
    preds_format: PredsFormatOpt = None,
    labels_format: LabelsFormatOpt = None,
    test: TestOpt = None,
    bootstrap_samples: MaybeSamplesOpt = None,
    seed: MaybeSeedOpt = None,
    chunk_rows: ChunkRowsOpt = 1 << 17,
    group_by: GroupByOpt = None,
    meta: MetaOpt = None,
    min_slice_size: MinSliceOpt = None,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    header: HeaderOpt = None,
    delimiter: DelimiterOpt = None,
    decimal: DecimalOpt = ".",
    class_labels: ClassLabelsOpt = None,
) -> None:
    """Compare models on the same labels: a column per model, paired differences to the first.

    One file holding the labels too: --label-col NAME instead of --labels (the labels are that
    column of the first file); one file holding every model: a --pred-cols per model."""

    def run() -> None:
        from losscli.ci.compare import compare_files
        from losscli.ci.config import Settings, discover, merge
        from losscli.report.render import compare_markdown

        outputs = _outputs(output, COMPARE_NAMES)
        _need_charts(fmt.value, outputs)
        groups = [tuple(c.strip() for c in g.split(",") if c.strip()) for g in pred_cols or ()]
        one_set = pred_cols[0] if pred_cols and len(pred_cols) == 1 else None
        flags = Settings(
            labels=labels,
            loss=tuple(loss or ()),
            **_input_fields(logits, probs, id_col, join, one_set, label_col, nan),
            preds_key=preds_key,
            labels_key=labels_key,
            preds_format=preds_format,
            labels_format=labels_format,
            **_testing_fields(test, bootstrap_samples, seed),
            **_meta_fields(None, group_by, meta, min_slice_size),
            **_text_fields(delimiter, decimal, header, class_labels),
        )
        settings = merge(discover(config), flags)
        _not_inputs(outputs, settings, *preds)
        comparison = compare_files(
            preds,
            settings,
            top=top,
            chunk_rows=chunk_rows,
            model_cols=groups if len(groups) > 1 else (),
        )
        _print(_render("COMPARE_FORMATS", fmt.value)(comparison, precision))
        _write_reports(
            outputs,
            lambda name: _render("COMPARE_FORMATS", name)(comparison, precision),
            lambda: compare_markdown(comparison, precision),
        )

    guarded(run, quiet, verbose)


def main() -> None:
    """Console-script entry point: signals become ``Interrupted`` (see ``cli.signals``);
    freed chunk memory stays in the heap for the next chunk (``cli.allocator``)."""
    import sys

    from losscli.cli.allocator import keep_freed_memory
    from losscli.cli.signals import install

    install()
    keep_freed_memory()
    null_before = _stdout_is_null()
    try:
        app()
    except Interrupted as stop:  # outside a command (while parsing or importing)
        print(f"error: {stop}", file=sys.stderr)
        sys.exit(int(stop.exit_code))
    except SystemExit as done:
        if done.code == 1 and _reader_gone(null_before):
            print(f"error: {READER_GONE}", file=sys.stderr)
            sys.exit(int(ExitCode.BROKEN_PIPE))
        raise


def _stdout_is_null() -> bool:
    import os

    try:
        fd, null = os.fstat(1), Path(os.devnull).stat()
    except OSError:
        return False
    return (fd.st_dev, fd.st_ino) == (null.st_dev, null.st_ino)


def _reader_gone(null_before: bool) -> bool:
    """Whether help or usage text met a closed pipe (``losscli --help | head``): Rich then
    points stdout at /dev/null and Typer/Click wrap it to silence the final flush, both
    exiting 1 with nothing said; losscli says it as a command does, and exits 141."""
    import sys

    wrapped = type(sys.stdout).__name__.endswith("PacifyFlushWrapper")  # Click's wrapper
    return wrapped or (not null_before and _stdout_is_null())


@app.command()
def merge(
    states: Annotated[
        list[Path],
        typer.Argument(
            help="States written by 'losscli compute --save-state', in row order.",
            show_default=False,
        ),
    ],
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.table,  # type: ignore[attr-defined]
    precision: Annotated[
        int,
        typer.Option(
            min=1, max=17, help="Significant digits shown (JSON and CSV keep full precision)."
        ),
    ] = 10,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Report saved states as one run over all their rows (rows numbered in the order given)."""

    def run() -> None:
        from losscli.engine.state import merge_states

        _print(_render("FORMATS", fmt.value)(merge_states(states), precision))

    guarded(run, quiet, verbose)
