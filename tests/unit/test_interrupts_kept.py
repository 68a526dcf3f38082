"""A Ctrl-C that a library swallows (TensorFlow's calibrator does, inside the representative
dataset) still stops the build, when the step ends."""
import os
import signal
import threading

import pytest

from edgebuild import progress


def swallowing_library():
    """What TensorFlow's C++ calibrator does with an exception from the Python generator it pulls."""
    try:
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(1000):  # the handler runs between bytecodes
            pass
    except KeyboardInterrupt:
        return "swallowed"
    return "not interrupted"


@pytest.fixture
def ctrl_c_as_in_a_terminal():
    """SIGINT with Python's own handler, as a terminal's foreground job has it, however pytest was started (a
    script's background job, CI's, starts with it ignored)."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


def test_a_swallowed_ctrl_c_is_raised_when_the_block_ends(ctrl_c_as_in_a_terminal):
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        with progress.interrupts_kept():
            assert swallowing_library() == "swallowed"
    assert signal.getsignal(signal.SIGINT) is before


def test_without_a_ctrl_c_nothing_changes():
    with progress.interrupts_kept():
        value = 1 + 1
    assert value == 2


def test_outside_the_main_thread_it_sets_no_handler():
    seen = []
    thread = threading.Thread(target=lambda: seen.append(progress.interrupts_kept().__enter__() is None))
    thread.start()
    thread.join()
    assert seen == [True]


def test_a_build_started_with_ctrl_c_ignored_keeps_ignoring_it():
    """A script's background job starts with SIGINT ignored; catching it only inside steps lost the ones that
    landed between them, so the build ignores it throughout, as Python itself does."""
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with progress.interrupts_kept():
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            assert swallowing_library() == "not interrupted"
    finally:
        signal.signal(signal.SIGINT, before)
