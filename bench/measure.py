"""Wall time and peak memory of a command and every process it starts, for the bench scripts.

Peak memory is the largest sum of the proportional set sizes (PSS) of the command's whole process tree,
sampled every 0.1 s from /proc (Linux), so a parallel build's workers count together, and pages that
forked processes share (TensorFlow's, imported once before doit forks its workers) count once, split
between them; summing resident sets counted them once per process. RSS where PSS cannot be read.
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
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            kb = _pss_kb(name)
            if kb is None:
                with open(f"/proc/{name}/statm") as handle:
                    kb = int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
        except (OSError, IndexError, ValueError):
            continue
        pid = int(name)
        children.setdefault(int(fields[1]), []).append(pid)
        rss[pid] = kb
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, ()))
    return total


def run(command, cwd, env=None) -> tuple[float, float]:
    """(wall seconds, peak MB of the process tree); raises if the command fails."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    while process.poll() is None:
        peak = max(peak, _tree_rss_kb(process.pid))
        time.sleep(0.1)
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise subprocess.CalledProcessError(process.returncode, command, stderr=process.stderr.read())
    return seconds, peak / 1024
