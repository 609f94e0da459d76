"""Reading files: one reader per format behind one signature, chosen from a suffix table;
stdin; prefetching; per-sample sinks. Imports nothing of engine, report, ci or the CLI."""
