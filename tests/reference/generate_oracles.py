"""Reference numbers for the breakdowns ``losscli compute`` prints, from PyTorch and
scikit-learn, written to ``oracles.json`` beside this script.

For each case (inputs from ``sample_data/`` or written here, seeded), the script computes with
the libraries, not with losscli:

- ``by_class``: per true class and loss, the number of counted samples (pixels for maps), the
  mean (torch ``cross_entropy`` / ``kl_div`` / sklearn ``hinge_loss`` on the class's rows
  alone, so class weights divide by their own sum) and the share of the total (the class's
  ``reduction="sum"`` over the whole set's);
- ``worst``: the ``top`` rows with the largest own loss of the first spec (ties by row), each
  with its id or row, label, predicted class, probability of the true class (softmax, sigmoid
  or the probability itself, 1 − p for label 0 of a binary task) and every loss's own value
  (torch ``reduction="none"`` divided by the sample's weight; for maps the image's own mean).

Runs in the reference environment (``make refenv``; see README.md beside this script), from
the repository root:

    make reference
    # or: KERAS_BACKEND=torch .refenv/bin/python tests/reference/generate_oracles.py
"""

from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sklearn
import torch
import torch.nn.functional as F
from sklearn.metrics import hinge_loss, log_loss

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SAMPLE = ROOT / "sample_data"
IMAGE_CLASSES = ["cat", "dog", "bird", "fish", "horse"]
IMAGE_WEIGHT = [1.0, 2.0, 1.0, 1.0, 0.5]
DIST_WEIGHT = [1.0, 2.0, 1.0, 0.5]
SEG_WEIGHT = [1.0, 2.0, 0.5]

T = torch.float64


def tensor(x: Any) -> torch.Tensor:
    return torch.as_tensor(np.array(x), dtype=T)


def worst(first: np.ndarray, top: int) -> list[int]:
    """Row positions of the ``top`` largest values, ties broken by row order."""
    order = sorted(range(len(first)), key=lambda i: (-first[i], i))
    return order[:top]


def class_table(
    names: list[str],
    classes: np.ndarray,
    specs: dict[str, tuple[np.ndarray, np.ndarray]],
) -> dict[str, dict[str, dict[str, float]]]:
    """Per class: count, mean, share from each spec's (sum over the class, weight over it)."""
    table: dict[str, dict[str, dict[str, float]]] = {}
    for c, name in enumerate(names):
        table[name] = {}
        for spec, (sums, weights) in specs.items():
            table[name][spec] = {
                "count": int(np.count_nonzero(classes == c)),
                "mean": float(sums[c] / weights[c]),
                "share": float(sums[c] / sums.sum()),
            }
    return table


# --------------------------------------------------------------------------- multiclass


def images_case() -> dict[str, Any]:
    logits_df = pd.read_csv(SAMPLE / "images_logits.csv")
    labels_df = pd.read_csv(SAMPLE / "images_labels.csv")
    joined = logits_df.merge(labels_df, on="image_id", how="left", validate="one_to_one")
    z = joined[IMAGE_CLASSES].to_numpy(np.float64)
    y = joined["label"].map({c: i for i, c in enumerate(IMAGE_CLASSES)}).to_numpy(np.int64)
    zt, yt, wt = tensor(z), torch.as_tensor(y.copy()), tensor(IMAGE_WEIGHT)
    specs = {
        "ce": {},
        "ce:weight=[1,2,1,1,0.5]": {"weight": wt},
        "ce:weight=[1,2,1,1,0.5],label_smoothing=0.1": {"weight": wt, "label_smoothing": 0.1},
    }
    own: dict[str, np.ndarray] = {}
    table_in: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for spec, kw in specs.items():
        terms = F.cross_entropy(zt, yt, reduction="none", **kw).numpy()
        w_true = np.asarray(IMAGE_WEIGHT)[y] if "weight" in kw else np.ones(len(y))
        own[spec] = terms / w_true
        sums, weights = np.zeros(5), np.zeros(5)
        for c in range(5):
            rows = y == c
            # torch on the class's rows alone: Σ terms / Σ w[y] of those rows
            mean = F.cross_entropy(zt[rows], yt[rows], **kw).item()
            weights[c] = w_true[rows].sum()
            sums[c] = F.cross_entropy(zt[rows], yt[rows], reduction="sum", **kw).item()
            assert abs(mean - sums[c] / weights[c]) <= 1e-12 * abs(mean)
        table_in[spec] = (sums, weights)
    # sklearn hinge_loss (Crammer–Singer) per row and per class
    labels = list(range(5))
    own["hinge"] = np.array(
        [hinge_loss([y[i]], z[i : i + 1], labels=labels) for i in range(len(y))]
    )
    h_sums = np.array(
        [hinge_loss(y[y == c], z[y == c], labels=labels) * (y == c).sum() for c in labels]
    )
    table_in["hinge"] = (h_sums, np.bincount(y, minlength=5).astype(float))
    # sklearn log_loss agrees with torch on the unweighted class means
    for c in labels:
        sk = log_loss(y[y == c], torch.softmax(zt[y == c], 1).numpy(), labels=labels)
        assert abs(sk - table_in["ce"][0][c] / table_in["ce"][1][c]) <= 1e-9 * sk
    p = torch.softmax(zt, dim=1).numpy()
    top = 5
    rows = worst(own["ce"], top)
    return {
        "id": "images",
        "args": [
            "sample_data/images_logits.csv",
            "sample_data/images_labels.csv",
            "--id-col",
            "image_id",
            *[a for spec in [*specs, "hinge"] for a in ("--loss", spec)],
        ],
        "reference": "torch.nn.functional.cross_entropy on each class's rows (weight, "
        "label_smoothing); sklearn.metrics.hinge_loss(labels=range(5)); softmax for p(true)",
        "top": top,
        "by_class": class_table(IMAGE_CLASSES, y, table_in),
        "worst": [
            {
                "id": str(joined["image_id"][i]),
                "label": IMAGE_CLASSES[y[i]],
                "prediction": IMAGE_CLASSES[int(np.argmax(z[i]))],
                "p_true": float(p[i, y[i]]),
                "losses": [float(own[s][i]) for s in [*specs, "hinge"]],
            }
            for i in rows
        ],
    }


# --------------------------------------------------------------------------- binary


def binary_case(
    case_id: str, preds: np.ndarray, y: np.ndarray, logits: bool, files: list[str], top: int
) -> dict[str, Any]:
    x, yt = tensor(preds), tensor(y)
    p = torch.sigmoid(x).numpy() if logits else preds
    if logits:
        ce = F.binary_cross_entropy_with_logits(x, yt, reduction="none").numpy()
        ref = "torch binary_cross_entropy_with_logits; sklearn hinge_loss; sigmoid for p(true)"
    else:
        ce = F.binary_cross_entropy(x, yt, reduction="none").numpy()
        assert abs(log_loss(y, preds) - ce.mean()) <= 1e-12
        ref = "torch binary_cross_entropy / mse_loss; p(true) = p for label 1, 1 - p for 0"
    if logits:
        # SVM hinge with labels {0, 1} read as ±1; sklearn hinge_loss needs both classes
        # present, so per row from its formula, checked against sklearn on the whole set
        second = np.maximum(0.0, 1.0 - (2 * y - 1) * preds)
        assert abs(hinge_loss(y, preds) - second.mean()) <= 1e-12
    else:
        second = F.mse_loss(x, yt, reduction="none").numpy()
    own = {"ce": ce, "hinge" if logits else "mse": second}
    specs = ["ce", "hinge"] if logits else ["mse", "ce"]
    args = [*files, *[a for s in specs for a in ("--loss", s)], *(["--logits"] if logits else [])]
    table_in = {
        s: (np.array([own[s][y == c].sum() for c in (0, 1)]), np.bincount(y, minlength=2) * 1.0)
        for s in specs
    }
    rows = worst(own[specs[0]], top)
    return {
        "id": case_id,
        "args": args,
        "reference": ref,
        "top": top,
        "by_class": class_table(["0", "1"], y, table_in),
        "worst": [
            {
                "row": i,
                "label": str(int(y[i])),
                "prediction": float(preds[i]),
                "p_true": float(p[i] if y[i] == 1 else 1.0 - p[i]),
                "losses": [float(own[s][i]) for s in specs],
            }
            for i in rows
        ],
    }


def seed_case() -> dict[str, Any]:
    preds = pd.read_csv(SAMPLE / "seed_preds.csv")["prob"].to_numpy(np.float64)
    y = pd.read_csv(SAMPLE / "seed_labels.csv")["label"].to_numpy(np.int64)
    files = ["sample_data/seed_preds.csv", "sample_data/seed_labels.csv"]
    return binary_case("seed", preds, y, False, files, top=3)


BINARY_LOGITS_FILES = ["binary_logits.csv", "binary_labels.csv"]


def binary_logits_case() -> dict[str, Any]:
    """40 seeded logits; the test writes ``inputs`` to the two CSV files and runs on them."""
    rng = np.random.default_rng(20261129)
    y = rng.integers(0, 2, 40)
    x = np.round(rng.normal(0, 2.5, 40) + (2 * y - 1) * 0.8, 6)
    case = binary_case("binary_logits", x, y, True, BINARY_LOGITS_FILES, top=6)
    case["inputs"] = {"score": x.tolist(), "label": y.tolist()}
    return case


# --------------------------------------------------------------------------- soft labels


def dist_case() -> dict[str, Any]:
    q = np.load(SAMPLE / "dist_preds.npy").astype(np.float64)
    p = np.load(SAMPLE / "dist_labels.npy").astype(np.float64)
    logq = tensor(np.log(q))  # rows sum to 1, so log_softmax(log q) = log q: torch's soft CE
    pt, wt = tensor(p), tensor(DIST_WEIGHT)
    own = {
        "ce": F.cross_entropy(logq, pt, reduction="none").numpy(),
        # probability targets with class weights: torch divides by n, not by the weights
        "ce:weight=[1,2,1,0.5]": F.cross_entropy(logq, pt, weight=wt, reduction="none").numpy(),
        "kl": F.kl_div(logq, pt, reduction="none").sum(1).numpy(),
    }
    cls = np.argmax(p, axis=1)
    table_in = {
        s: (np.array([v[cls == c].sum() for c in range(4)]), np.bincount(cls, minlength=4) * 1.0)
        for s, v in own.items()
    }
    top = 4
    rows = worst(own["ce"], top)
    return {
        "id": "dist",
        "args": [
            "sample_data/dist_preds.npy",
            "sample_data/dist_labels.npy",
            *[a for s in own for a in ("--loss", s)],
        ],
        "reference": "torch cross_entropy with probability targets (weight: mean over n), "
        "kl_div(log q, p) summed per row; classes by argmax of the label row",
        "top": top,
        "by_class": class_table(["0", "1", "2", "3"], cls, table_in),
        "worst": [
            {
                "row": i,
                "label": f"argmax {int(np.argmax(p[i]))}",
                "prediction": f"argmax {int(np.argmax(q[i]))}",
                "p_true": None,
                "losses": [float(v[i]) for v in own.values()],
            }
            for i in rows
        ],
    }


# --------------------------------------------------------------------------- dense maps


def seg_case() -> dict[str, Any]:
    z = tensor(np.load(SAMPLE / "seg_logits.npy"))
    y = torch.as_tensor(np.load(SAMPLE / "seg_labels.npy"))
    wt = tensor(SEG_WEIGHT)
    specs = {
        "ce:ignore_index=255": {"ignore_index": 255},
        "ce:ignore_index=255,weight=[1,2,0.5]": {"ignore_index": 255, "weight": wt},
        "ce:ignore_index=255,label_smoothing=0.1": {"ignore_index": 255, "label_smoothing": 0.1},
    }
    table_in: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    own: dict[str, np.ndarray] = {}
    for spec, kw in specs.items():
        sums, weights = np.zeros(3), np.zeros(3)
        for c in range(3):
            only_c = torch.where(y == c, y, torch.full_like(y, 255))  # other pixels ignored
            sums[c] = F.cross_entropy(z, only_c, reduction="sum", **kw).item()
            mean = F.cross_entropy(z, only_c, **kw).item()
            weights[c] = sums[c] / mean
        table_in[spec] = (sums, weights)
        # an image's own loss: torch's mean over that image's counted pixels
        own[spec] = np.array(
            [F.cross_entropy(z[i : i + 1], y[i : i + 1], **kw).item() for i in range(len(y))]
        )
    counted = y != 255
    hits = (z.argmax(dim=1) == y) & counted
    top = 3
    rows = worst(own["ce:ignore_index=255"], top)
    yn = y.numpy()
    return {
        "id": "seg",
        "args": [
            "sample_data/seg_logits.npy",
            "sample_data/seg_labels.npy",
            *[a for s in specs for a in ("--loss", s)],
        ],
        "reference": "torch cross_entropy on (N, C, H, W) with every pixel of another class "
        "set to ignore_index; per image its own mean over counted pixels",
        "top": top,
        "by_class": class_table(["0", "1", "2"], yn.reshape(-1), table_in),
        "worst": [
            {
                "row": i,
                "label": f"{int(counted[i].sum())} px",
                "prediction": f"pixel acc {hits[i].sum().item() / counted[i].sum().item():.3f}",
                "p_true": None,
                "losses": [float(own[s][i]) for s in specs],
            }
            for i in rows
        ],
    }


def main() -> None:
    torch.set_default_dtype(T)
    cases = [images_case(), seed_case(), binary_logits_case(), dist_case(), seg_case()]
    doc = {
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "scikit-learn": sklearn.__version__,
            "numpy": np.__version__,
            "pandas": pd.__version__,
        },
        "generated_by": "tests/reference/generate_oracles.py",
        "cases": cases,
    }
    out = HERE / "oracles.json"
    out.write_text(json.dumps(doc, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    print(f"wrote {out.relative_to(ROOT)}: {len(cases)} cases")


if __name__ == "__main__":
    main()
