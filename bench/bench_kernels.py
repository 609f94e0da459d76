"""Benchmark losscli's fused cross-entropy kernels against ``torch.nn.functional``, same arrays.

    .venv/bin/python bench/bench_kernels.py [--quick] [--repeat R] [--rounds K]

Three logit arrays, generated once per run with a fixed seed (standard normal × 3): 200,000 × 100
and 200,000 × 1,000 float32, and 2,000,000 × 10 float64, with uniform random class labels
(``--quick``: a twentieth of the rows, for a smoke run in seconds). On each array, four losses,
each reduced to its mean:

- ``ce``: losscli ``cross_entropy(logits=True)`` vs ``F.cross_entropy`` (the issue's target:
  losscli ≤ 0.8 × torch's time);
- ``ce:label_smoothing=0.1`` vs ``F.cross_entropy(label_smoothing=0.1)``;
- ``focal`` (γ = 2, softmax focal −(1 − p_y)^γ log p_y) vs the same formula in torch
  (``log_softmax``, ``gather``, ``exp``, ``pow``: torch has no softmax focal loss);
- ``nll`` on log-probabilities vs ``F.nll_loss`` (losscli also checks every row's exp sums to 1,
  which costs one pass of the row-block kernel).

losscli runs in this process, with every core (the kernels' thread pool) and again on one
thread; torch runs with ``torch.set_num_threads(2)``, in this process when it imports here,
else in a subprocess of the reference environment's Python (``.refenv/bin/python``, or
``LOSSCLI_TORCH_PYTHON``) reading the same arrays from ``.npy`` files. Without torch the
script says so and leaves the torch column out. Each time is the best of R calls (default 5);
the whole losscli-then-torch sequence runs K rounds (default 2) and each cell keeps its best,
so both sides see the same load. Every losscli value is checked against torch's (1e-6
relative for float32, 1e-10 for float64).

The last column compares CPU time (``time.process_time``, every thread of each process, best
of the same calls): the work each side does, which a loaded machine disturbs far less than
wall time. Prints the table, the load average and the versions, and writes the table to
``bench/results/bench_kernels.md`` (spliced into README by ``make readme``). Exit codes: 0 ok;
1 a value disagrees with torch.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "bench_kernels.md"
SEED = 16
TARGET = 0.8
SHAPES = (
    (200_000, 100, "float32"),
    (200_000, 1_000, "float32"),
    (2_000_000, 10, "float64"),
)
LOSSES = ("ce", "ce:label_smoothing=0.1", "focal", "nll")
TOLERANCE = {"float32": 1e-6, "float64": 1e-10}

# The torch side, run in this process or as ``python -c`` in the reference environment:
# reads <dir>/<key>.z.npy and .y.npy for each key on argv, prints {key: {loss: [seconds,
# value]}} as JSON.
TORCH_SCRIPT = r"""
import json, sys, time
import numpy as np
import torch
import torch.nn.functional as F
torch.set_num_threads(2)

def focal(z, y):
    log_py = F.log_softmax(z, dim=1).gather(1, y[:, None])[:, 0]
    return (-(1 - log_py.exp()).pow(2.0) * log_py).mean()

def torch_losses(z, y, logp):
    return {
        "ce": lambda: F.cross_entropy(z, y),
        "ce:label_smoothing=0.1": lambda: F.cross_entropy(z, y, label_smoothing=0.1),
        "focal": lambda: focal(z, y),
        "nll": lambda: F.nll_loss(logp, y),
    }

def run(folder, keys, repeat):
    out = {}
    for key in keys:
        z = torch.from_numpy(np.load(f"{folder}/{key}.z.npy"))
        y = torch.from_numpy(np.load(f"{folder}/{key}.y.npy"))
        logp = F.log_softmax(z, dim=1)
        out[key] = {}
        for name, fn in torch_losses(z, y, logp).items():
            best, cpu, value = float("inf"), float("inf"), None
            for _ in range(repeat):
                t0, c0 = time.perf_counter(), time.process_time()
                value = float(fn())
                best = min(best, time.perf_counter() - t0)
                cpu = min(cpu, time.process_time() - c0)
            out[key][name] = [best, cpu, value]
    return out

if __name__ == "__main__":
    print(json.dumps(run(sys.argv[1], sys.argv[3:], int(sys.argv[2]))))
"""


@dataclass
class Cell:
    """Best wall and CPU seconds of one tool on one (array, loss), and the value it gave."""

    seconds: float = float("inf")
    cpu: float = float("inf")
    value: float = float("nan")

    def add(self, seconds: float, cpu: float, value: float) -> None:
        self.seconds = min(self.seconds, seconds)
        self.cpu = min(self.cpu, cpu)
        self.value = value


def make_arrays(rows: int, classes: int, dtype: str) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng([SEED, rows, classes])
    z = (rng.standard_normal((rows, classes)) * 3.0).astype(dtype)
    return z, rng.integers(0, classes, rows)


def losscli_losses(
    z: np.ndarray, y: np.ndarray, logp: np.ndarray
) -> dict[str, Callable[[], float]]:
    from losscli.losses import PerSample
    from losscli.losses.classification import cross_entropy, focal, nll

    def mean(terms: PerSample) -> float:
        return float(terms.values.sum() / len(terms.values))

    return {
        "ce": lambda: mean(cross_entropy(z, y, logits=True)),
        "ce:label_smoothing=0.1": lambda: mean(
            cross_entropy(z, y, logits=True, label_smoothing=0.1)
        ),
        "focal": lambda: mean(focal(z, y, logits=True)),
        "nll": lambda: mean(nll(logp, y)),
    }


def best_of(fn: Callable[[], float], repeat: int) -> tuple[float, float, float]:
    """Best wall seconds, best CPU seconds (all threads of the process) and the value."""
    best, cpu, value = float("inf"), float("inf"), float("nan")
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        value = fn()
        best = min(best, time.perf_counter() - t0)
        cpu = min(cpu, time.process_time() - c0)
    return best, cpu, value


@contextmanager
def one_thread() -> Iterator[None]:
    """The kernels on one thread (their pool starts only above PARALLEL_BYTES)."""
    from losscli.losses import kernels

    saved = kernels.PARALLEL_BYTES
    kernels.PARALLEL_BYTES = 1 << 62
    try:
        yield
    finally:
        kernels.PARALLEL_BYTES = saved


def log_softmax(z: np.ndarray) -> np.ndarray:
    """Reference log-probabilities for nll, in float64 then back to the input's dtype."""
    z64 = z.astype(np.float64)
    shifted = z64 - z64.max(axis=1, keepdims=True)
    return (shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))).astype(z.dtype)


def torch_python() -> list[str] | None:
    """How to run the torch side: this Python when torch imports here, else the refenv's."""
    try:
        import torch  # noqa: F401
    except ImportError:
        pass
    else:
        return [sys.executable]
    candidate = os.environ.get("LOSSCLI_TORCH_PYTHON") or str(ROOT / ".refenv" / "bin" / "python")
    if not Path(candidate).exists():
        return None
    probe = subprocess.run([candidate, "-c", "import torch"], capture_output=True)
    return [candidate] if probe.returncode == 0 else None


def run_torch(python: list[str], folder: Path, keys: list[str], repeat: int) -> dict:
    done = subprocess.run(
        [*python, "-c", TORCH_SCRIPT, str(folder), str(repeat), *keys],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def torch_version(python: list[str]) -> str:
    done = subprocess.run(
        [*python, "-c", "import torch; print(torch.__version__)"], capture_output=True, text=True
    )
    return done.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a twentieth of the rows")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    scale = 20 if args.quick else 1
    python = torch_python()
    if python is None:
        print("torch is not importable here nor in .refenv: the torch column is left out")
    mine: dict[tuple[str, str], Cell] = {}
    single: dict[tuple[str, str], Cell] = {}
    theirs: dict[tuple[str, str], Cell] = {}
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-kernels-") as tmp:
        folder = Path(tmp)
        keys = []
        for rows, classes, dtype in SHAPES:
            key = f"{rows // scale}x{classes}-{dtype}"
            z, y = make_arrays(rows // scale, classes, dtype)
            np.save(folder / f"{key}.z.npy", z)
            np.save(folder / f"{key}.y.npy", y)
            keys.append(key)
            del z, y
        for _ in range(args.rounds):
            for key in keys:
                z, y = np.load(folder / f"{key}.z.npy"), np.load(folder / f"{key}.y.npy")
                for loss, fn in losscli_losses(z, y, log_softmax(z)).items():
                    mine.setdefault((key, loss), Cell()).add(*best_of(fn, args.repeat))
                    with one_thread():
                        single.setdefault((key, loss), Cell()).add(*best_of(fn, args.repeat))
                del z, y
            if python is not None:
                for key, by_loss in run_torch(python, folder, keys, args.repeat).items():
                    for loss, (seconds, cpu, value) in by_loss.items():
                        theirs.setdefault((key, loss), Cell()).add(seconds, cpu, value)
    load_after = os.getloadavg()
    table, agree = render(keys, mine, single, theirs)
    versions = f"NumPy {np.__version__}, Python {platform.python_version()}"
    if python is not None:
        versions += f", torch {torch_version(python)}"
    load = ", ".join(f"{a:.2f}" for a in load_before)
    footer = (
        f"\nLoad average at the start: {load} (1, 5, 15 min); at the end: "
        f"{', '.join(f'{a:.2f}' for a in load_after)}. {os.cpu_count()} cores; {versions}; "
        f"best of {args.repeat} calls × {args.rounds} rounds"
        f"{'; --quick (a twentieth of the rows)' if args.quick else ''}.\n"
    )
    print(table + footer)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(table + footer, encoding="utf-8")
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    return 0 if agree else 1


def render(
    keys: list[str],
    mine: dict[tuple[str, str], Cell],
    single: dict[tuple[str, str], Cell],
    theirs: dict[tuple[str, str], Cell],
) -> tuple[str, bool]:
    """The Markdown table, and whether every losscli value agrees with torch's."""
    lines = [
        "| logits | loss | losscli | losscli, 1 thread | torch, 2 threads | "
        "losscli / torch | target ≤ 0.8× | CPU time losscli / torch |",
        "|---|---|---:|---:|---:|---:|---|---:|",
    ]
    agree = True
    for key in keys:
        dtype = key.rsplit("-", 1)[1]
        for loss in LOSSES:
            m, s, t = mine[(key, loss)], single[(key, loss)], theirs.get((key, loss))
            if t is None:
                torch_ms, ratio, met, cpu = "—", "—", "—", "—"
            else:
                rel = abs(m.value - t.value) / abs(t.value)
                if rel > TOLERANCE[dtype]:
                    agree = False
                    print(f"{key} {loss}: losscli {m.value!r} vs torch {t.value!r} ({rel:.2e})")
                r = m.seconds / t.seconds
                torch_ms, ratio = f"{t.seconds * 1e3:.1f} ms", f"{r:.2f}×"
                cpu = f"{m.cpu * 1e3:.0f} / {t.cpu * 1e3:.0f} ms = {m.cpu / t.cpu:.2f}×"
                met = (
                    ("yes" if r <= TARGET else f"no (+{(r / TARGET - 1) * 100:.0f}%)")
                    if (loss == "ce")
                    else "(reported)"
                )
            rows, classes = key.split("-")[0].split("x")
            shape = f"{int(rows):,} × {int(classes):,} {dtype}"
            lines.append(
                f"| {shape} | `{loss}` | {m.seconds * 1e3:.1f} ms | {s.seconds * 1e3:.1f} ms | "
                f"{torch_ms} | {ratio} | {met} | {cpu} |"
            )
    return "\n".join(lines) + "\n", agree


if __name__ == "__main__":
    sys.exit(main())
