"""losscli: the loss values PyTorch and scikit-learn give, from the command line.

``losscli.compute(spec, preds, labels)`` is the Python API. Attributes load on first use, so
``losscli --help`` does not pay for NumPy or package metadata.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from losscli.api import compute as compute

__all__ = ["__version__", "compute"]


def __getattr__(name: str) -> Any:
    if name == "compute":
        from losscli.api import compute

        return compute
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("losscli")  # one version source: pyproject.toml
        except PackageNotFoundError:  # a source tree that was never installed
            return "0+unknown"
    raise AttributeError(f"module 'losscli' has no attribute {name!r}")
