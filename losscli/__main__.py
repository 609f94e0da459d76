"""``python -m losscli``."""

from losscli.cli.app import main

main()
