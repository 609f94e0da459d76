"""The command line: a thin Typer shell that parses, calls the API and prints what report/
renders."""

from losscli.cli.app import app, main

__all__ = ["app", "main"]
