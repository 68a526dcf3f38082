"""Where a step's code runs besides doit's own process: workers that import TensorFlow as they start
(warm.py), a Dask cluster (remote.py)."""
