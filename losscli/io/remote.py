"""Remote inputs: ``s3://``, ``gs://``, ``https://``, ``memory://``, ``file://`` URLs read
through fsspec (the ``losscli[remote]`` extra) and the backend of their protocol.

A remote file is copied to the run's spill folder (``losscli.io.stdin.spill_folder``: removed
on every exit and by the CLI's signal handling) in blocks of 1 MiB, never held in memory
whole, with the checks of a standard-input copy (its first bytes fit its format; it stops
before the disk runs low). The readers then read the copy as a local file, so every format,
shard directory, glob and Hive dataset works as it does locally. A directory or a glob is
mirrored file by file under one folder (markers and hidden files left out). Messages and
reports name the URL, never the copy.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from losscli.errors import InputError, UsageError
from losscli.io.formats import format_of

_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):/+(.*)$", re.S)
# The package each common protocol needs besides fsspec (fsspec's own message otherwise).
_BACKENDS = {
    "s3": "s3fs",
    "s3a": "s3fs",
    "gs": "gcsfs",
    "gcs": "gcsfs",
    "http": "aiohttp requests",
    "https": "aiohttp requests",
    "az": "adlfs",
    "abfs": "adlfs",
    "abfss": "adlfs",
}
_GLOB_CHARS = frozenset("*?[")


def remote_url(path: Path | str | None) -> str | None:
    """The URL ``path`` names (``s3://b/k``), or None for a local path.

    ``pathlib`` folds ``//`` into ``/`` (``Path("s3://b/k")`` is ``s3:/b/k``), so the URL is
    rebuilt: ``file:`` URLs get back their absolute path, the others their host."""
    if path is None:
        return None
    match = _URL.match(str(path))
    if match is None:
        return None
    protocol, rest = match.group(1).lower(), match.group(2)
    return f"{protocol}:///{rest}" if protocol in ("file", "local") else f"{protocol}://{rest}"


def filesystem(url: str) -> tuple[Any, str]:
    """fsspec's filesystem for ``url`` and the path within it (exit 2 without fsspec or the
    protocol's backend, naming the pip install)."""
    protocol = url.split("://", 1)[0]
    try:
        import fsspec
    except ImportError:
        raise UsageError(
            f"{url}: reading {protocol}:// URLs needs fsspec; pip install 'losscli[remote]'"
        ) from None
    try:
        return fsspec.core.url_to_fs(url)
    except ImportError as exc:
        package = _BACKENDS.get(protocol)
        fix = f"pip install {package}" if package else f"install the backend fsspec names ({exc})"
        raise UsageError(
            f"{url}: reading {protocol}:// URLs needs {package or exc}; {fix}"
        ) from None
    except ValueError as exc:
        raise UsageError(f"{url}: {exc}; losscli reads the protocols fsspec knows") from None


def _fs_error(url: str, exc: BaseException) -> InputError:
    if isinstance(exc, FileNotFoundError):
        return InputError(f"{url}: no such file")
    if isinstance(exc, PermissionError):
        return InputError(f"{url}: permission denied")
    reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return InputError(f"{url}: cannot read it ({reason})")


def _ignored(relative: str) -> bool:
    return any(part.startswith((".", "_")) for part in relative.split("/"))


def _glob_base(text: str) -> str:
    """The folder a glob starts from: everything before the folder of its first wildcard."""
    return text[: min(text.index(c) for c in _GLOB_CHARS if c in text)].rsplit("/", 1)[0]


def fetch(url: str, folder: Path, copy: Any, show: Any) -> Path:
    """The local copy of ``url`` in ``folder``: a file, or a folder mirroring a directory or
    the files a glob matches (the glob kept, relative to the mirror).

    ``copy(source, target, suffix, shown)`` writes one open remote file to ``target`` with the
    checks of a standard-input copy; ``show(copy, shown)`` names a copy in messages."""
    fs, path = filesystem(url)
    mirror = folder / f"remote{len(list(folder.iterdir()))}"
    try:
        if _GLOB_CHARS & set(path):
            base, shown = _glob_base(path), _glob_base(url)
            files = [f for f in fs.glob(path) if fs.isfile(f)]
            local = mirror / path[len(base) :].lstrip("/")
        elif fs.isdir(path):
            base, shown, local = path, url.rstrip("/"), mirror
            files = list(fs.find(path))
        else:
            if not fs.exists(path):
                raise FileNotFoundError(path)
            target = mirror.with_name(mirror.name + format_of(path.rsplit("/", 1)[-1]))
            show(target, url)
            with fs.open(path, "rb") as source:
                copy(source, target, format_of(path), url)
            return target
        mirror.mkdir()
        show(mirror, shown)
        for name in sorted(files):
            relative = name[len(base.rstrip("/")) :].lstrip("/")
            if _ignored(relative):
                continue
            target = mirror / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            with fs.open(name, "rb") as source:
                copy(source, target, format_of(relative), f"{shown}/{relative}")
        return local
    except (InputError, UsageError):
        raise
    except Exception as exc:  # the backend's own errors (network, auth, missing keys)
        raise _fs_error(url, exc) from None


def read_bytes(url: str) -> bytes:
    """A small remote file read whole (a baseline JSON, a saved state)."""
    fs, path = filesystem(url)
    try:
        with fs.open(path, "rb") as fh:
            data: bytes = fh.read()
        return data
    except Exception as exc:
        raise _fs_error(url, exc) from None
