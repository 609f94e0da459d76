"""Regenerate the README's generated parts: the loss table and the gallery outputs.

The loss table comes from the registry; each gallery block's output is the real output of its
command, run on a fixed 100-column colourless console; each performance table between
``<!-- bench:NAME -->`` and ``<!-- /bench:NAME -->`` is ``bench/results/NAME.md``, the file the
benchmark script ``bench/NAME.py`` writes when ``make bench`` runs it. ``tests/test_docs.py``
fails when the README drifts from what this script would write. Run: ``make readme``.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"

GALLERY = re.compile(
    r"(<!-- gallery -->\n```console\n\$ )(?P<cmd>[^\n]+)\n(?P<out>.*?)(```)", re.DOTALL
)
LOSS_TABLE = re.compile(r"(<!-- losses -->\n)(.*?)(<!-- /losses -->)", re.DOTALL)
BENCH = re.compile(
    r"(<!-- bench:(?P<name>[\w-]+) -->\n)(.*?)(<!-- /bench:(?P=name) -->)", re.DOTALL
)
BENCH_RESULTS = ROOT / "bench" / "results"


def bench_table(name: str) -> str:
    """What ``bench/NAME.py`` last wrote to ``bench/results/NAME.md``, ending in one newline."""
    path = BENCH_RESULTS / f"{name}.md"
    if not path.is_file():
        raise SystemExit(f"README has a bench:{name} block but {path} is missing: run make bench")
    return path.read_text().rstrip("\n") + "\n"


def run_command(cmd: str) -> str:
    """The command's stdout (or stderr, for an error) as a user sees it, plus its exit code."""
    from typer.testing import CliRunner

    from losscli.cli.app import app

    args = shlex.split(cmd)
    assert args[0] == "losscli", cmd
    env = {"COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"}
    old = Path.cwd()
    os.chdir(ROOT)
    try:
        result = CliRunner().invoke(app, args[1:], env=env)
    finally:
        os.chdir(old)
    text = result.stdout + result.stderr
    if result.exit_code:
        text += f"$ echo $?\n{result.exit_code}\n"
    return text


def render(readme: str) -> str:
    from losscli.losses import LOSSES
    from losscli.report.render import loss_markdown

    readme = LOSS_TABLE.sub(lambda m: m.group(1) + loss_markdown(LOSSES) + m.group(3), readme)
    readme = BENCH.sub(lambda m: m.group(1) + bench_table(m.group("name")) + m.group(4), readme)
    return GALLERY.sub(
        lambda m: m.group(1) + m.group("cmd") + "\n" + run_command(m.group("cmd")) + m.group(4),
        readme,
    )


def main() -> int:
    text = README.read_text()
    new = render(text)
    if "--check" in sys.argv:
        return 0 if new == text else 1
    README.write_text(new)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
