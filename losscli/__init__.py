"""losscli: the loss values PyTorch and scikit-learn give, from the command line.

``losscli.compute(spec, preds, labels)`` is the Python API; heavy modules load on first use.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

try:
    __version__ = version("losscli")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

if TYPE_CHECKING:
    from losscli.api import compute as compute

__all__ = ["__version__", "compute"]


def __getattr__(name: str) -> Any:
    if name == "compute":
        from losscli.api import compute

        return compute
    raise AttributeError(f"module 'losscli' has no attribute {name!r}")
