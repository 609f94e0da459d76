"""Render the sample HTML reports and photograph them: ``make screenshots``.

Each report of ``REPORTS`` is made by the installed ``losscli`` on ``sample_data/`` (``-o
NAME.html``), opened by headless Chromium (Debian's ``chromium`` package) and saved as
``docs/screenshots/NAME.png``; the README's "Reports" section shows these files with the
commands below. Chromium photographs a tall window; the empty band below the page is then cut
off with Pillow (installed with matplotlib, the ``report`` extra).
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
LOSSCLI = Path(sys.executable).parent / "losscli"
WIDTH, TALL = 1000, 6000

# name -> the command as the README shows it (without "-o NAME.html"), and its exit codes.
REPORTS: dict[str, tuple[str, tuple[int, ...]]] = {
    "compute": (
        "losscli compute sample_data/images_logits.csv sample_data/images_labels.csv "
        "--id-col image_id --loss ce --loss ece --top 5",
        (0,),
    ),
    "check": (
        "losscli check sample_data/tickets_probs_v2.csv sample_data/tickets_labels.csv "
        "--label-col intent --loss ce --max ce=0.5 --group-by lang --slice-max ce=0.6",
        (0, 1),  # a failing gate is a report like any other
    ),
    "compare": (
        "losscli compare sample_data/tickets_probs_v1.csv sample_data/tickets_probs_v2.csv "
        "--labels sample_data/tickets_labels.csv --label-col intent --loss ce --top 5",
        (0,),
    ),
}


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise SystemExit(
        "make screenshots needs headless Chromium: install Debian's package "
        "(apt-get install chromium) and run it again"
    )


def render(name: str, command: str, codes: tuple[int, ...], folder: Path) -> Path:
    page = folder / f"{name}.html"
    args = [str(LOSSCLI), *shlex.split(command)[1:], "-o", str(page), "--quiet"]
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=False)
    if proc.returncode not in codes:
        raise SystemExit(f"{command}: exit {proc.returncode}\n{proc.stderr}")
    return page


def photograph(browser: str, page: Path, png: Path) -> None:
    args = [
        browser,
        "--headless",
        "--no-sandbox",  # run as root in containers and CI
        "--disable-gpu",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        f"--window-size={WIDTH},{TALL}",
        f"--screenshot={png}",
        page.as_uri(),
    ]
    proc = subprocess.run(args, capture_output=True, text=True, check=False, timeout=300)
    if proc.returncode != 0 or not png.exists():
        raise SystemExit(f"chromium could not photograph {page}:\n{proc.stderr}")
    trim(png)


def trim(png: Path) -> None:
    """Cut the rows below the page (the colour of the bottom-left corner) off, keeping 16."""
    from PIL import Image, ImageChops

    image = Image.open(png).convert("RGB")
    background = Image.new("RGB", image.size, image.getpixel((image.width // 2, image.height - 1)))
    box = ImageChops.difference(image, background).getbbox()
    if box is not None:
        image = image.crop((0, 0, image.width, min(image.height, box[3] + 16)))
    image.save(png, optimize=True)


def main() -> None:
    browser = chromium()
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name, (command, codes) in REPORTS.items():
            png = OUT / f"{name}.png"
            photograph(browser, render(name, command, codes, Path(tmp)), png)
            print(f"{png.relative_to(ROOT)}: {command} -o {name}.html")


if __name__ == "__main__":
    main()
