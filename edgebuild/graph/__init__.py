"""The build graph: each step's declaration (step.py), recipes -> doit tasks (tasks.py), records a failure
leaves alone (records.py), what no step writes (prune.py), one build per project (lock.py)."""
