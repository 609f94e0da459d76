"""Interpreting what was read: columns, ids, task, classes, prediction kind, each decision with
its reason; aligning the rows of predictions and labels."""
