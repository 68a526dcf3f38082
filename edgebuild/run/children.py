"""The short-lived Python children a step starts (a training script, TFLM probes, LiteRT kernel sets) die with
the process that started them, so a killed sandbox or Dask worker leaves none of them running (issue 35).

Each is started as `python -c code(...)`: the child first asks Linux to SIGKILL it when its parent dies
(PR_SET_PDEATHSIG); where there is no prctl, a thread in it watches for another parent (init, a subreaper) and
ends it. The request belongs to the thread that started the child, which waits for it. The long-lived children
(the sandbox, doit's `-n` workers) are started by threads that may end first, so they only watch
(warm.exit_with_parent)."""
import os

_PRELUDE = """\
import ctypes as _eb_ctypes, os as _eb_os, signal as _eb_signal, threading as _eb_threading, time as _eb_time
def _eb_dies_with(parent):
    try:
        _eb_ctypes.CDLL(None, use_errno=True).prctl(1, _eb_signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux
        def watch():
            while _eb_os.getppid() == parent:
                _eb_time.sleep(1.0)
            _eb_os._exit(1)
        _eb_threading.Thread(target=watch, daemon=True).start()
    if _eb_os.getppid() != parent:  # (it died before the request was made)
        _eb_os._exit(1)
_eb_dies_with({parent})
"""


def code(source: str) -> str:
    """`source`, for `python -c`, in a child that ends when this process does."""
    return _PRELUDE.format(parent=os.getpid()) + source


def script() -> str:
    """For `python -c script() path args...`: runs the script at `path` as `python path args...` would."""
    return code("import runpy, sys\nsys.argv = sys.argv[1:]\nsys.path[0] = _eb_os.path.dirname(_eb_os.path.abspath("
                "sys.argv[0]))\nrunpy.run_path(sys.argv[0], run_name='__main__')\n")
