"""The engine: per-sample losses into mergeable accumulators (update, merge, finalize) and the
result dataclasses of raw numbers. Never imports report, ci or the CLI."""
