"""The steps of a recipe, one module each, in the order they run:

    datasets -> sources -> evaluate (reference) -> convert | quantizer (+ mixed, reuse)
      -> evaluate/<t> -> gate/<t> -> summary (choice: what ships) -> report (charts) ; quantdebug for int8 reports

Each module declares its steps (`step(...) -> Step`) beside the code that runs them; the ship and
bundle steps live in `edgebuild.bundle`, what differs by task in `edgebuild.kinds`.
"""
