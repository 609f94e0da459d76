"""Regenerate losscli's sample data files (deterministic: seeded NumPy Generator).

Run from anywhere:

    python sample_data/make_sample_data.py

Every file is written next to this script, overwriting what is there. The same NumPy version
produces byte-identical files. At the end the script prints reference values for each data set,
computed here directly with NumPy (independently of losscli), so they can be compared with
``losscli compute`` output; see README.md for the commands.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
SEED = 20240611
CLASSES = ("cat", "dog", "bird", "fish", "horse")
VOID = 255


# --------------------------------------------------------------------------------------------
# 1. The article example (REFERENCES.md)
# --------------------------------------------------------------------------------------------


def write_seed_example(out: Path) -> None:
    """Write the article's three-sample example exactly as the article states it."""
    (out / "seed_preds.csv").write_text("prob\n0.9\n0.2\n0.4\n")
    (out / "seed_labels.csv").write_text("label\n1\n0\n1\n")
    (out / "seed_scores.csv").write_text("score\n1.2\n-0.5\n0.8\n")


# --------------------------------------------------------------------------------------------
# 2. Multiclass image classification (CSV, class names, id join)
# --------------------------------------------------------------------------------------------


def make_images(rng: np.random.Generator, n: int = 200) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Logits of a plausible 5-class classifier and the true class names, shuffled.

    About 80% of rows are right with a clear margin, ~12% are hesitant (two close classes)
    and ~8% are confidently wrong (a wrong class gets a large logit). Classes are mildly
    imbalanced (fish is rare).
    """
    c = len(CLASSES)
    ids = np.array([f"img_{i:04d}" for i in range(1, n + 1)])
    y = rng.choice(c, size=n, p=[0.28, 0.27, 0.2, 0.07, 0.18])
    logits = rng.normal(0.0, 1.0, size=(n, c))
    kind = rng.choice(3, size=n, p=[0.80, 0.12, 0.08])  # 0 right, 1 hesitant, 2 wrong
    rows = np.arange(n)
    logits[rows, y] += rng.uniform(2.0, 5.0, size=n)
    other = (y + rng.integers(1, c, size=n)) % c  # a class different from y
    hesitant = kind == 1
    logits[rows[hesitant], other[hesitant]] = logits[rows[hesitant], y[hesitant]] + rng.normal(
        0.0, 0.5, size=hesitant.sum()
    )
    wrong = kind == 2
    logits[rows[wrong], other[wrong]] = logits[rows[wrong], y[wrong]] + rng.uniform(
        3.0, 6.0, size=wrong.sum()
    )
    logits += rng.normal(0.0, 0.5, size=(n, 1))  # per-image offset: logits are shift-invariant
    preds = pd.DataFrame(np.round(logits, 6), columns=list(CLASSES))
    preds.insert(0, "image_id", ids)
    order = rng.permutation(n)
    labels = pd.DataFrame({"image_id": ids[order], "label": np.array(CLASSES)[y[order]]})
    return preds, labels


def write_images(out: Path, preds: pd.DataFrame, labels: pd.DataFrame) -> None:
    preds.to_csv(out / "images_logits.csv", index=False, float_format="%.6f")
    labels.to_csv(out / "images_labels.csv", index=False)


def make_images_v2(
    preds: pd.DataFrame, labels: pd.DataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    """A second model on the same images for ``losscli compare``: a larger margin for the
    true class on most images (better overall) but a smaller one on the rare class fish."""
    truth = labels.set_index("image_id")["label"].reindex(preds["image_id"]).to_numpy()
    y = np.array([CLASSES.index(name) for name in truth])
    logits = preds[list(CLASSES)].to_numpy().copy()
    rows = np.arange(len(y))
    shift = np.where(np.array(CLASSES)[y] == "fish", -1.5, 0.6) + rng.normal(0, 0.3, len(y))
    logits[rows, y] += shift
    out = pd.DataFrame(np.round(logits, 6), columns=list(CLASSES))
    out.insert(0, "image_id", preds["image_id"].to_numpy())
    return out


# --------------------------------------------------------------------------------------------
# 3. Regression with outliers (Parquet)
# --------------------------------------------------------------------------------------------


def make_house_prices(rng: np.random.Generator, n: int = 500) -> tuple[np.ndarray, np.ndarray]:
    """House prices in units of 100k and a model's predictions, row-aligned.

    Most predictions are within ~10% of the price; a handful of expensive houses are badly
    under-predicted and a couple of cheap ones badly over-predicted, so MSE is dominated by
    a few rows while MAE and Huber are not.
    """
    price = np.exp(rng.normal(np.log(3.2), 0.45, size=n))  # median ~320k
    pred = price * (1.0 + rng.normal(0.0, 0.08, size=n)) + rng.normal(0.0, 0.15, size=n)
    mansions = rng.choice(n, size=6, replace=False)
    price[mansions] = rng.uniform(15.0, 30.0, size=mansions.size)  # 1.5M - 3M
    pred[mansions] = rng.uniform(4.0, 8.0, size=mansions.size)  # model never saw such houses
    rest = np.setdiff1d(np.arange(n), mansions)
    overpriced = rng.choice(rest, size=3, replace=False)
    pred[overpriced] = price[overpriced] + rng.uniform(3.0, 5.0, size=overpriced.size)
    return np.round(pred, 4), np.round(price, 4)


def write_parquet(path: Path, name: str, values: np.ndarray) -> None:
    table = pa.table({name: pa.array(values, type=pa.float64())})
    pq.write_table(table, path)


# --------------------------------------------------------------------------------------------
# 4. Distributions / soft labels (NPY)
# --------------------------------------------------------------------------------------------


def make_distributions(
    rng: np.random.Generator, n: int = 100, c: int = 4
) -> tuple[np.ndarray, np.ndarray]:
    """Predicted probability rows (all > 0) and target distributions.

    Targets: ~25% one-hot rows, ~35% soft rows with some exact zeros, the rest dense soft
    rows. Predictions are a noisy version of the target, so KL is small but not zero.
    """
    labels = rng.dirichlet(np.full(c, 1.0), size=n)
    kind = rng.choice(3, size=n, p=[0.25, 0.35, 0.40])  # 0 one-hot, 1 sparse soft, 2 dense
    for i in np.flatnonzero(kind == 0):
        labels[i] = 0.0
        labels[i, rng.integers(c)] = 1.0
    for i in np.flatnonzero(kind == 1):
        zeros = rng.choice(c, size=rng.integers(1, c - 1), replace=False)
        labels[i, zeros] = 0.0
        labels[i] /= labels[i].sum()
    labels = np.round(labels, 6)
    top = labels.argmax(axis=1)  # the largest entry absorbs the rounding residual, so rows
    labels[np.arange(n), top] += 1.0 - labels.sum(axis=1)  # sum to 1 and zeros stay exact
    noise = rng.dirichlet(np.full(c, 2.0), size=n)
    preds = 0.75 * labels + 0.25 * noise
    preds /= preds.sum(axis=1, keepdims=True)
    return preds.astype(np.float64), labels.astype(np.float64)


# --------------------------------------------------------------------------------------------
# 5. Dense segmentation (NPY, N-d, ignore_index)
# --------------------------------------------------------------------------------------------


def make_segmentation(
    rng: np.random.Generator, n: int = 8, c: int = 3, size: int = 16
) -> tuple[np.ndarray, np.ndarray]:
    """Logits (n, c, size, size) float32 and masks (n, size, size) int64.

    Each mask is background (0) with a disc (1) and a rectangle (2); the outline of the disc
    is void (255), and some images have an unlabelled void patch, so the number of valid
    pixels differs from image to image. The "model" is right on most pixels, blurs the edges,
    and in two images mistakes part of the rectangle for the disc class.
    """
    yy, xx = np.mgrid[0:size, 0:size]
    truth = np.zeros((n, size, size), dtype=np.int64)
    labels = np.zeros_like(truth)
    for i in range(n):
        y0, x0 = rng.integers(0, size - 6, size=2)
        h, w = rng.integers(3, 7, size=2)
        truth[i, y0 : y0 + h, x0 : x0 + w] = 2
        cy, cx = rng.uniform(4, size - 4, size=2)
        r = rng.uniform(2.5, 4.5)
        dist = np.hypot(yy - cy, xx - cx)
        truth[i][dist <= r] = 1
        labels[i] = truth[i]
        labels[i][np.abs(dist - r) < 0.5] = VOID  # ambiguous outline
        if rng.random() < 0.5:
            py, px = rng.integers(0, size - 4, size=2)
            labels[i, py : py + 4, px : px + rng.integers(2, 6)] = VOID  # unlabelled patch
    onehot = np.moveaxis(np.eye(c)[truth], -1, 1)  # (n, c, size, size)
    logits = 3.0 * onehot + rng.normal(0.0, 1.2, size=onehot.shape)
    for i in rng.choice(n, size=2, replace=False):  # confuse part of the rectangle
        region = (truth[i] == 2) & (xx % 2 == 0)
        logits[i, 1][region] += 4.5
    return logits.astype(np.float32), labels


# --------------------------------------------------------------------------------------------
# Reference values (plain NumPy, the conventions losscli follows)
# --------------------------------------------------------------------------------------------


def log_softmax(z: np.ndarray, axis: int) -> np.ndarray:
    z = z - z.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


def huber(e: np.ndarray, delta: float = 1.0) -> np.ndarray:
    a = np.abs(e)
    return np.where(a < delta, 0.5 * e**2, delta * (a - 0.5 * delta))


def reference_values(
    images: tuple[pd.DataFrame, pd.DataFrame],
    houses: tuple[np.ndarray, np.ndarray],
    dists: tuple[np.ndarray, np.ndarray],
    seg: tuple[np.ndarray, np.ndarray],
) -> dict[str, float]:
    """The values ``losscli compute`` should print for each sample data set."""
    ref: dict[str, float] = {}
    preds, labels = images
    joined = preds.merge(labels, on="image_id", validate="one_to_one")
    z = joined[list(CLASSES)].to_numpy(np.float64)
    y = joined["label"].map({name: i for i, name in enumerate(CLASSES)}).to_numpy()
    ref["images ce"] = float(-log_softmax(z, 1)[np.arange(len(y)), y].mean())
    ref["images accuracy (info)"] = float((z.argmax(1) == y).mean())

    pred, price = houses
    e = pred - price
    ref["house mse"] = float(np.mean(e**2))
    ref["house mae"] = float(np.mean(np.abs(e)))
    ref["house huber (delta=1)"] = float(np.mean(huber(e)))

    p, t = dists
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(t > 0, t * np.log(t / p), 0.0)
    ref["dist kl (batchmean)"] = float(rel.sum(axis=1).mean())

    logits, masks = seg
    nll = -np.take_along_axis(
        log_softmax(logits.astype(np.float64), 1), np.where(masks == VOID, 0, masks)[:, None], 1
    )[:, 0]
    valid = masks != VOID
    ref["seg ce ignore_index=255 (torch: mean over valid pixels)"] = float(
        nll[valid].sum() / valid.sum()
    )
    per_image = (nll * valid).sum(axis=(1, 2)) / valid.sum(axis=(1, 2))
    ref["seg ce ignore_index=255 (mean of per-image means, differs)"] = float(per_image.mean())
    return ref


# --------------------------------------------------------------------------------------------
# 7. Sliced evaluation: a support-ticket classifier by language, two model versions
# --------------------------------------------------------------------------------------------

INTENTS = ("billing", "bug", "other")
LANGS = ("en", "de", "fr")


def make_tickets(rng: np.random.Generator, n: int = 600) -> tuple[pd.DataFrame, ...]:
    """Tickets with a true intent and a language; probabilities of two model versions.

    v2 is better than v1 on English and French tickets (sharper right answers) but worse on
    German ones (a tokenizer change, say): overall its cross-entropy improves while the
    ``lang=de`` slice regresses. Both versions hesitate on a share of the tickets.
    """
    c = len(INTENTS)
    lang = rng.choice(len(LANGS), size=n, p=[0.55, 0.25, 0.20])
    y = rng.choice(c, size=n, p=[0.4, 0.35, 0.25])
    noise = rng.normal(0.0, 1.0, size=(n, c))
    rows = np.arange(n)

    def probs(strength: np.ndarray) -> np.ndarray:
        z = noise.copy()
        z[rows, y] += strength
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)

    base = rng.uniform(0.5, 3.5, size=n)
    v1 = probs(base)
    v2 = probs(np.where(lang == 1, base - 1.6, base + 1.0))
    labels = pd.DataFrame({"intent": np.array(INTENTS)[y], "lang": np.array(LANGS)[lang]})
    cols = list(INTENTS)
    return labels, pd.DataFrame(v1, columns=cols), pd.DataFrame(v2, columns=cols)


def write_tickets(out: Path, labels: pd.DataFrame, v1: pd.DataFrame, v2: pd.DataFrame) -> None:
    labels.to_csv(out / "tickets_labels.csv", index=False)
    for name, frame in (("v1", v1), ("v2", v2)):
        # Six decimals: rows sum to 1 within 2e-6, well inside the probability tolerance.
        frame.round(6).to_csv(out / f"tickets_probs_{name}.csv", index=False, float_format="%.6f")


def main() -> None:
    rng = np.random.default_rng(SEED)
    write_seed_example(HERE)

    images = make_images(rng)
    write_images(HERE, *images)

    houses = make_house_prices(rng)
    write_parquet(HERE / "house_prices_preds.parquet", "pred", houses[0])
    write_parquet(HERE / "house_prices_labels.parquet", "price", houses[1])

    dists = make_distributions(rng)
    np.save(HERE / "dist_preds.npy", dists[0])
    np.save(HERE / "dist_labels.npy", dists[1])

    seg = make_segmentation(rng)
    np.save(HERE / "seg_logits.npy", seg[0])
    np.save(HERE / "seg_labels.npy", seg[1])

    # Its own generator, so the files above stay as they were before it was added.
    v2 = make_images_v2(*images, np.random.default_rng(SEED + 1))
    v2.to_csv(HERE / "images_logits_v2.csv", index=False, float_format="%.6f")

    # Its own generator too: the tickets of the sliced-evaluation example.
    write_tickets(HERE, *make_tickets(np.random.default_rng(SEED + 2)))

    print(f"wrote sample data to {HERE}")
    for name, value in reference_values(images, houses, dists, seg).items():
        print(f"  {name:<60} {value:.10g}")


if __name__ == "__main__":
    main()
