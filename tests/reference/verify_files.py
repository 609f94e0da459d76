"""End-to-end check of the installed ``losscli`` against PyTorch and scikit-learn on new files.

Writes random inputs (seeded) as CSV, TSV, Parquet and NPY in a temporary folder, with ids in
another order, class names, soft labels and the options of issue 2 (label smoothing, class
weights, ignore_index, pos_weight, margin, delta, beta), runs ``losscli compute ... --format
json`` on them and compares every value with the library's to 1e-10 relative. Unlike
``cases.json`` (arrays through the Python API) this goes through the readers, the id join and
the CLI. Runs in the reference environment of tests/reference/README.md (``make refenv``),
from the repository root:

    make reference
    # or: LOSSCLI=.venv/bin/losscli .refenv/bin/python tests/reference/verify_files.py

Prints one line per check and exits 1 if any disagrees.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from sklearn.metrics import hinge_loss, log_loss

LOSSCLI = os.environ.get("LOSSCLI", "losscli")
T = torch.tensor
failures: list[str] = []


def run(*args: object) -> dict[str, float]:
    out = subprocess.run(
        [LOSSCLI, "compute", *map(str, args), "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode:
        sys.exit(f"losscli failed: {out.stderr}")
    return {r["loss"]: r["value"] for r in json.loads(out.stdout)["results"]}


def close(got: float, want: float, what: str) -> None:
    ok = abs(got - want) <= 1e-10 * abs(want)
    print(f"{'ok  ' if ok else 'FAIL'} {what}: losscli {got!r}, reference {want!r}")
    if not ok:
        failures.append(what)


def multiclass(d: Path, rng: np.random.Generator) -> None:
    n, c = 500, 6
    names = [f"c{i}" for i in range(c)]
    z, y = rng.normal(0, 3, (n, c)), rng.integers(0, c, n)
    ids = np.array([f"s{i:04d}" for i in range(n)])
    pd.DataFrame(z, columns=names).assign(id=ids)[["id", *names]].to_csv(
        d / "p.csv", index=False, float_format="%.17g"
    )
    perm = rng.permutation(n)
    pd.DataFrame({"id": ids[perm], "label": np.array(names)[y[perm]]}).to_csv(
        d / "l.csv", index=False
    )
    w = [1, 2, 0.5, 3, 1, 0.25]
    ws = "[1,2,0.5,3,1,0.25]"
    r = run(
        d / "p.csv",
        d / "l.csv",
        "--id-col",
        "id",
        "-l",
        "ce",
        "-l",
        "ce:label_smoothing=0.2",
        "-l",
        f"ce:weight={ws}",
        "-l",
        f"ce:weight={ws},label_smoothing=0.15",
        "-l",
        "hinge",
    )
    zt, yt, wt = T(z), T(y), T(w, dtype=torch.float64)
    close(r["ce"], F.cross_entropy(zt, yt).item(), "ce, class names, ids shuffled (csv)")
    close(
        r["ce:label_smoothing=0.2"],
        F.cross_entropy(zt, yt, label_smoothing=0.2).item(),
        "ce label_smoothing",
    )
    close(r[f"ce:weight={ws}"], F.cross_entropy(zt, yt, weight=wt).item(), "ce weight")
    close(
        r[f"ce:weight={ws},label_smoothing=0.15"],
        F.cross_entropy(zt, yt, weight=wt, label_smoothing=0.15).item(),
        "ce weight+smoothing",
    )
    close(r["hinge"], hinge_loss(y, z, labels=range(c)), "hinge Crammer-Singer (sklearn)")
    yi = y.copy()
    yi[::7] = 2
    pd.DataFrame({"id": ids[perm], "label": yi[perm]}).to_parquet(d / "li.parquet")
    r = run(d / "p.csv", d / "li.parquet", "--id-col", "id", "-l", "ce:ignore_index=2")
    close(
        r["ce:ignore_index=2"],
        F.cross_entropy(zt, T(yi), ignore_index=2).item(),
        "ce ignore_index (csv + parquet by id)",
    )
    soft = rng.dirichlet(np.ones(c), n)
    pd.DataFrame(soft, columns=names)[names[::-1]].to_csv(
        d / "soft.csv", index=False, float_format="%.17g"
    )
    pd.DataFrame(z, columns=names).to_csv(d / "z.csv", index=False, float_format="%.17g")
    r = run(d / "z.csv", d / "soft.csv", "-l", "ce", "-l", "ce:label_smoothing=0.1", "-l", "kl")
    close(r["ce"], F.cross_entropy(zt, T(soft)).item(), "ce soft labels, columns reordered")
    close(
        r["ce:label_smoothing=0.1"],
        F.cross_entropy(zt, T(soft), label_smoothing=0.1).item(),
        "ce soft labels + smoothing",
    )
    close(
        r["kl"],
        F.kl_div(F.log_softmax(zt, 1), T(soft), reduction="batchmean").item(),
        "kl from logits, soft labels (csv)",
    )


def binary(d: Path, rng: np.random.Generator) -> None:
    x, t = rng.normal(0, 2, 300), rng.integers(0, 2, 300).astype(float)
    np.save(d / "x.npy", x)
    np.save(d / "t.npy", t)
    r = run(d / "x.npy", d / "t.npy", "-l", "bce:pos_weight=2.5", "-l", "bce", "--logits")
    pw = T(2.5, dtype=torch.float64)
    close(
        r["bce:pos_weight=2.5"],
        F.binary_cross_entropy_with_logits(T(x), T(t), pos_weight=pw).item(),
        "bce pos_weight",
    )
    close(r["bce"], F.binary_cross_entropy_with_logits(T(x), T(t)).item(), "bce logits (npy)")
    p, lab = rng.uniform(0.01, 0.99, 100), rng.choice(["spam", "ham"], 100)
    pd.DataFrame({"p": p}).to_csv(d / "pr.csv", index=False, float_format="%.17g")
    pd.DataFrame({"y": lab}).to_csv(d / "lab.csv", index=False)
    r = run(d / "pr.csv", d / "lab.csv", "-l", "ce", "-l", "hinge")
    close(r["ce"], log_loss(lab, p), "binary log loss, text labels (sklearn)")
    close(r["hinge"], hinge_loss(lab, p), "binary hinge, text labels (sklearn)")
    dist, s = np.abs(rng.normal(1, 1, 200)), rng.choice([-1.0, 1.0], 200)
    pd.DataFrame({"d": dist}).to_csv(d / "d.tsv", sep="\t", index=False, float_format="%.17g")
    pd.DataFrame({"s": s}).to_csv(d / "s.tsv", sep="\t", index=False)
    r = run(d / "d.tsv", d / "s.tsv", "-l", "hinge_embedding:margin=1.5")
    close(
        r["hinge_embedding:margin=1.5"],
        F.hinge_embedding_loss(T(dist), T(s), margin=1.5).item(),
        "hinge_embedding (tsv)",
    )


def regression_and_kl(d: Path, rng: np.random.Generator) -> None:
    a, b = rng.normal(0, 3, 1000), rng.normal(0, 3, 1000)
    pd.DataFrame({"p": a}).to_parquet(d / "a.parquet")
    pd.DataFrame({"y": b}).to_parquet(d / "b.parquet")
    r = run(
        d / "a.parquet",
        d / "b.parquet",
        "-l",
        "huber:delta=0.7",
        "-l",
        "smooth_l1:beta=1.7",
        "-l",
        "mse",
        "-l",
        "mae",
        "-l",
        "rmse",
    )
    at, bt = T(a), T(b)
    close(r["huber:delta=0.7"], F.huber_loss(at, bt, delta=0.7).item(), "huber delta (parquet)")
    close(r["smooth_l1:beta=1.7"], F.smooth_l1_loss(at, bt, beta=1.7).item(), "smooth_l1 beta")
    close(r["mse"], F.mse_loss(at, bt).item(), "mse")
    close(r["mae"], F.l1_loss(at, bt).item(), "mae")
    close(r["rmse"], F.mse_loss(at, bt).sqrt().item(), "rmse")
    q, p = rng.dirichlet(np.ones(5), 200), rng.dirichlet(np.ones(5) * 0.5, 200)
    np.save(d / "q.npy", q)
    np.save(d / "p.npy", p)
    r = run(d / "q.npy", d / "p.npy", "-l", "kl")
    close(r["kl"], F.kl_div(T(q).log(), T(p), reduction="batchmean").item(), "kl probs (npy)")


def main() -> int:
    rng = np.random.default_rng(12345)
    with tempfile.TemporaryDirectory() as tmp:
        for check in (multiclass, binary, regression_and_kl):
            check(Path(tmp), rng)
    print(f"{len(failures)} failed" if failures else "all agree to 1e-10")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
