"""``python -m losscli``."""

from losscli.cli import main

main()
