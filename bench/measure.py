"""Wall time and peak memory of a command and every process it starts, for the bench scripts.

Peak memory is the largest sum of the proportional set sizes (PSS) of the command's whole process tree,
sampled from /proc (Linux) every 0.1 s (less often when a large tree takes long to sample), so a parallel
build's workers count together, and pages that forked processes share (TensorFlow's, imported once before
doit forks its workers) count once, split between them; summing resident sets counted them once per
process. RSS where PSS cannot be read.
"""
from __future__ import annotations

import os
import subprocess
import time


def _pss_kb(pid: str) -> int | None:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _tree_rss_kb(root: int) -> int:
    """PSS of `root` and its descendants (smaps_rollup is read for those only: it walks a process's page
    tables, about 45 ms for a 1.2 GB process here, where statm costs microseconds)."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(name))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, ()))
        kb = _pss_kb(str(pid))
        if kb is None:
            try:
                with open(f"/proc/{pid}/statm") as handle:
                    kb = int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
            except (OSError, IndexError, ValueError):
                continue
        total += kb
    return total


def compile_checkout(repo) -> None:
    """Byte-compile the checkout's edgebuild once, before anything is timed. A fresh clone has no
    __pycache__, and where PYTHONDONTWRITEBYTECODE is set (this machine sets it) every edgebuild
    process would compile every module again: a no-op build measured 0.69 s instead of 0.46 s."""
    import compileall
    from pathlib import Path

    compileall.compile_dir(str(Path(repo) / "edgebuild"), quiet=1)


def run(command, cwd, env=None) -> tuple[float, float]:
    """(wall seconds, peak MB of the process tree); raises if the command fails."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    while process.poll() is None:
        sampled = time.perf_counter()
        peak = max(peak, _tree_rss_kb(process.pid))
        # at most about a tenth of one core for the sampling, whatever the tree's size
        time.sleep(max(0.1, 9 * (time.perf_counter() - sampled)))
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise subprocess.CalledProcessError(process.returncode, command, stderr=process.stderr.read())
    return seconds, peak / 1024
