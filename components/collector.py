"""The cyclic garbage collector's thresholds for a process that runs the program.

Registering a few hundred resources makes the Pulumi SDK allocate millions of short-lived objects (asyncio tasks and
futures, Outputs, protobuf structs), and importing the providers' SDKs builds hundreds of thousands of long-lived
ones. At CPython's default thresholds (700, 10, 10) a young collection runs every 700 net allocations and every
hundredth walks the whole heap, the SDKs' classes included: measured here, a render of prod takes 10.5 s in a fresh
process at the defaults and 6.4 s at these, at the same peak memory (376 MiB, as scripts/benchmark.py measures it).
The collector still runs: a young collection every 100,000 net allocations, the older generations in proportion.

Dependency-free, so each entry point sets it before its heavy imports: the program (__main__.py, as `pulumi up`
runs it), `python -m brickwall` (brickwall/__main__.py) and the test package (tests/__init__.py).
"""

from __future__ import annotations

import gc

THRESHOLDS = (100_000, 50, 50)  # gc.set_threshold: young, middle, old (https://docs.python.org/3/library/gc.html)


def tune() -> None:
    gc.set_threshold(*THRESHOLDS)
