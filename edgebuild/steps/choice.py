"""Which target the bundles ship, and why each other target does not: the choice a mobile team would make.

- `ship: <target>` in the recipe ships that target, if it passed every threshold.
- Otherwise, among the targets that passed and are not `baseline: true`, a hybrid model (weights int8
  or int4, activations float and quantized on the fly: dynamic_int8, dynamic_int4) ships only when
  no float or fully quantized target passed. A hybrid model is often slower on a phone's CPU than
  float32 (here 0.775 ms against 0.435 ms on MobileNetV2); LiteRT's GPU delegate runs it only by expanding
  its int8 weights to float32 (model_builder_helper.cc), and the Core ML delegate takes float models only.
- `ship_by: size` (default) then picks the smallest, `ship_by: latency` the fastest by median latency
  on the build machine.

The reasons (`why`, `passed_over`) go into ship.json and the bundles' READMEs, so they hold no
latency figure: latency differs between two builds, and the bundles must not. The build's output
line adds the figures.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class ShipChoice:
    target: str | None
    why: str  # one sentence, no latency figure
    passed_over: dict[str, str] = field(default_factory=dict)  # every other target -> why it did not ship
    figures: str = ""  # the latencies behind a `ship_by: latency` choice, for the build's output only

    def to_json(self) -> dict:
        return asdict(self)


def is_hybrid(inspection: dict) -> bool:
    """Whether a model computes an op from float activations and int8/int4 constant weights (a dynamic-range
    model), from the inspect step's JSON."""
    from ..tflite.tensors import is_hybrid_op

    tensors = {t["index"]: t for t in inspection["tensors"]}
    return any(is_hybrid_op(op["op"], [(tensors[i]["constant"], tensors[i]["dtype"]) for i in op["inputs"]
                                       if i in tensors]) for op in inspection["ops"])


def choose(targets: list[dict], ship: str | None = None, ship_by: str = "size") -> ShipChoice:
    """The shipped target among `targets` (summary.json's: name, metrics, verdict, baseline, hybrid)."""
    def size(t) -> str:
        return f"{t['metrics']['size_bytes']} bytes"

    failed = {t["name"]: "missed a threshold" for t in targets if not t["verdict"]["passed"] and not t.get("baseline")}
    baselines = {t["name"]: "baseline: true (measured, never shipped)" for t in targets if t.get("baseline")}
    if ship is not None:
        chosen = next(t for t in targets if t["name"] == ship)
        others = {t["name"]: failed.get(t["name"]) or baselines.get(t["name"]) or f"the recipe's ship: names {ship}"
                  for t in targets if t["name"] != ship}
        if not chosen["verdict"]["passed"]:
            return ShipChoice(None, f"ship: {ship} did not pass every threshold", {**others, ship: "missed a threshold"})
        return ShipChoice(ship, f"named by the recipe's ship: ({size(chosen)})", others)
    passed = [t for t in targets if t["verdict"]["passed"] and not t.get("baseline")]
    if not passed:
        return ShipChoice(None, "no target passed every threshold" if not baselines or failed else
                          "every target is a baseline", {**failed, **baselines})
    whole = [t for t in passed if not t.get("hybrid")]
    hybrid = {t["name"]: "a hybrid model (float activations, int8 weights): often slower than float32 on a CPU, "
              "LiteRT's GPU delegate runs it only by expanding its weights to float32 and the Core ML delegate "
              "takes float models only; ship: names it to ship it anyway"
              for t in passed if t.get("hybrid") and whole}
    candidates = whole or passed
    kind = "non-hybrid " if whole and hybrid else "hybrid " if not whole else ""
    if ship_by == "latency":
        best = min(candidates, key=lambda t: (t["metrics"]["latency_ms_median"], t["metrics"]["size_bytes"], t["name"]))
        why = (f"the fastest (median latency on the build machine) of the {len(candidates)} {kind}targets that "
               f"passed every threshold")
        beaten = {t["name"]: f"slower than {best['name']} on the build machine" for t in candidates if t is not best}
        figures = ", ".join(f"{t['name']} {t['metrics']['latency_ms_median']:.3f} ms"
                            for t in sorted(candidates, key=lambda t: t["metrics"]["latency_ms_median"]))
    else:
        best = min(candidates, key=lambda t: (t["metrics"]["size_bytes"], t["name"]))
        why = f"the smallest of the {len(candidates)} {kind}targets that passed every threshold ({size(best)})"
        beaten = {t["name"]: (f"larger than {best['name']} ({size(t)})" if t["metrics"]["size_bytes"] > best["metrics"]["size_bytes"]
                              else f"the same size as {best['name']}, which comes first by name")
                  for t in candidates if t is not best}
        figures = ""
    if len(candidates) == 1:
        why = f"the only {kind}target that passed every threshold ({size(best)})"
    reasons = {**beaten, **hybrid, **failed, **baselines}
    return ShipChoice(best["name"], why, {t["name"]: reasons[t["name"]] for t in targets if t["name"] in reasons},
                      figures)
