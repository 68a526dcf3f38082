"""The build graph: each step's declaration (step.py), recipes -> doit tasks (tasks.py), how many workers
pay (schedule.py), what no step writes (prune.py), one build per project (lock.py)."""
