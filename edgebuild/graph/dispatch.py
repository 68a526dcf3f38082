"""doit takes the steps that become ready together in the order they are listed.

doit's dispatcher keeps the steps waiting on a step in a set (control.ExecNode.waiting_me) and, when
that step finishes, makes them ready in the set's order: the order of the objects' addresses in
memory. Under `-n 2` MobileNetV2's int8 conversion (3.3 s, then its quantization debugger, 1.4 s)
then started after the three other conversions and the unconverted model's evaluation, whatever the
order of the steps. Here that set keeps the order in which steps started waiting, which is the order
tasks.py lists them (the costliest conversions first): the same order in every build.
"""
from __future__ import annotations


class _InOrder(dict):
    """A set that iterates in insertion order (doit only adds to it and iterates over it)."""

    def add(self, item) -> None:
        self[item] = None

    def discard(self, item) -> None:
        self.pop(item, None)

    def remove(self, item) -> None:
        del self[item]


def ready_in_listed_order() -> None:
    """Make doit's dispatcher (every runner: -n 1, -n N processes, Dask's threads) ready waiting steps in
    the order they started waiting. Idempotent; a doit without that set is left as it is."""
    from doit import control

    node = control.ExecNode
    if getattr(node, "_edgebuild_in_order", False):
        return
    init = node.__init__

    def __init__(self, *args, **kwargs):
        init(self, *args, **kwargs)
        if isinstance(getattr(self, "waiting_me", None), set) and not self.waiting_me:
            self.waiting_me = _InOrder()

    node.__init__ = __init__
    node._edgebuild_in_order = True
