"""losscli: the loss values PyTorch and scikit-learn give, from the command line.

``losscli.compute(spec, preds, labels)`` and ``losscli.per_sample(spec, preds, labels)`` are
the Python API. Attributes load on first use, so
``losscli --help`` does not pay for NumPy or package metadata.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from losscli.api import compute as compute
    from losscli.api import per_sample as per_sample

__all__ = ["__version__", "compute", "per_sample"]


def __getattr__(name: str) -> Any:
    if name in ("compute", "per_sample"):
        from losscli import api

        return getattr(api, name)
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("losscli")  # one version source: pyproject.toml
        except PackageNotFoundError:  # a source tree that was never installed
            return "0+unknown"
    raise AttributeError(f"module 'losscli' has no attribute {name!r}")
