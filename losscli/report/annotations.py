"""GitHub Actions workflow commands: ``::error title=...::message`` and ``::warning``.

GitHub reads them from a step's output and shows them on the run and the pull request.
User text is escaped as the Actions toolkit does (``@actions/core``, ``command.ts``): in the
message ``%``, ``\\r`` and ``\\n`` become ``%25``, ``%0D`` and ``%0A``; in a property value
(``title=``) also ``:`` and ``,`` become ``%3A`` and ``%2C``.
"""

from __future__ import annotations

import os

ERROR = "error"
WARNING = "warning"


def escape_data(text: str) -> str:
    """A message that cannot end the command early or start another one."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A property value (``title=``) that cannot end its property or the property list."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(level: str, message: str, title: str | None = None) -> str:
    """One workflow command line, e.g. ``::error title=losscli check::ce = 0.41 > max 0.35``."""
    props = f" title={escape_property(title)}" if title else ""
    return f"::{level}{props}::{escape_data(message)}"


def in_github_actions() -> bool:
    """Whether this runs as a GitHub Actions step (the runner sets GITHUB_ACTIONS=true)."""
    return os.environ.get("GITHUB_ACTIONS") == "true"
