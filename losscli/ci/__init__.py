"""CI: check rules, baselines and their comparability, config discovery, model comparison.
Uses engine results and returns plain results."""
