"""How much each measurement does: the full run (``make bench``) and ``--quick`` (a smoke run)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ListCase:
    """A list stored element by element: small elements in items, large ones in S3."""

    small: int
    small_bytes: int
    large: int = 0
    large_bytes: int = 0

    @property
    def name(self) -> str:
        if not self.large:
            return f"{self.small:,} x {self.small_bytes:,} B"
        return (
            f"{self.small:,} x {self.small_bytes:,} B + {self.large} x "
            f"{self.large_bytes / 1000:,.0f} KB (S3)"
        )

    def args(self) -> list[str]:
        return [
            "--n",
            str(self.small),
            "--size",
            str(self.small_bytes),
            "--large",
            str(self.large),
            "--large-size",
            str(self.large_bytes),
        ]


@dataclass(frozen=True)
class Plan:
    """Counts, sizes and repetitions of every measurement, and the worker timeout."""

    # 1. offload speed (a fresh process)
    offload_mb: tuple[float, ...] = (1, 10, 50)
    offload_mb_reps: tuple[int, ...] = (15, 5, 3)
    offload_siblings: tuple[int, ...] = (1_000, 2_000, 4_000, 8_000)
    offload_sibling_reps: int = 5
    fan_out_once_mb: float = 1
    fan_out_once_reps: int = 11
    # 2. library CPU per hydrated pointer (in process)
    hydrate_cpu_pointers: int = 1_000
    hydrate_cpu_repeat: int = 15
    # 3. decorator overhead, 4. cold start, 5. storage efficiency
    decorator_repeat: int = 25
    import_repeat: int = 7
    storage_mb: tuple[float, ...] = (1, 10)
    # 6. fan-out write
    fanout_small: int = 5_000
    small_reps: int = 3
    fanout_large: int = 60
    large_size: int = 500_000
    large_reps: int = 3
    # 7. whole lists, 8. one element per Map iteration (at the simulated latency)
    lists: tuple[ListCase, ...] = (
        ListCase(1_000, 100),
        ListCase(5_000, 100),
        ListCase(950, 1_000, 50, 450_000),
    )
    # Median of 5: a read of 1,000 small elements takes ~0.3 s of moto's time, whose pauses
    # moved a median of 3 by a third between two runs of the same code.
    list_reps: int = 5
    list_py2sfn_reps: int = 3
    element_list: ListCase = ListCase(950, 1_000, 50, 450_000)
    element_iterations: int = 100
    element_reps: int = 3
    # 9. peak memory
    memory_mb: float = 50
    calibration_requests: int = 200
    worker_timeout: float = 900


QUICK = Plan(
    offload_mb=(0.2, 1),
    offload_mb_reps=(3, 3),
    offload_siblings=(200, 400),
    offload_sibling_reps=2,
    fan_out_once_mb=0.2,
    fan_out_once_reps=3,
    hydrate_cpu_pointers=100,
    hydrate_cpu_repeat=3,
    decorator_repeat=3,
    import_repeat=2,
    storage_mb=(0.2, 1),
    fanout_small=500,
    small_reps=1,
    fanout_large=6,
    large_reps=1,
    lists=(ListCase(300, 100), ListCase(57, 1_000, 3, 450_000)),
    list_reps=1,
    list_py2sfn_reps=1,
    element_list=ListCase(57, 1_000, 3, 450_000),
    element_iterations=10,
    element_reps=1,
    memory_mb=3,
    calibration_requests=20,
    worker_timeout=300,
)
