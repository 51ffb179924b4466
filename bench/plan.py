"""How much each measurement does: the full run (``make bench``) and ``--quick`` (a smoke run)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Plan:
    """Counts, sizes and repetitions of every measurement, and the worker timeout."""

    fanout_small: int = 10_000
    small_reps: int = 3
    fanout_large: int = 300
    large_size: int = 500_000
    large_reps: int = 3
    hydrate_n: int = 1_000
    hydrate_s3: int = 50
    hydrate_size: int = 450_000
    hydrate_reps: int = 5
    hydrate_py2sfn_reps: int = 2  # 1,000 sequential get_item calls per repetition
    hydrate_ddb_only: bool = True
    decorator_repeat: int = 25
    import_repeat: int = 7
    storage_mb: tuple[float, ...] = (1, 10)
    memory_mb: float = 50
    calibration_requests: int = 200
    worker_timeout: float = 900


QUICK = Plan(
    fanout_small=500,
    small_reps=1,
    fanout_large=6,
    large_reps=1,
    hydrate_n=60,
    hydrate_s3=3,
    hydrate_reps=1,
    hydrate_py2sfn_reps=1,
    hydrate_ddb_only=False,
    decorator_repeat=3,
    import_repeat=2,
    storage_mb=(0.2, 1),
    memory_mb=3,
    calibration_requests=20,
    worker_timeout=300,
)
