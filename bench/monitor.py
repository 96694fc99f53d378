"""Samples the gateway's CPU and memory, Redis memory and the calls in progress; the CPU of Postgres,
Redis, the sandbox EHR, the load generator and the whole machine, to show where the CPU went and
whether the instruments themselves were saturated."""

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import psutil

# What is measured besides the gateway: each a CPU meter (percent of one core per tick).
PARTS = ("sandbox", "loadgen", "postgres", "redis", "machine")


@dataclass(frozen=True)
class Tick:
    at: float  # seconds since the monitor started
    cpu_percent: float  # of one core, all gateway processes together (200 = both cores)
    rss_bytes: int  # all gateway processes together
    redis_bytes: int
    active_calls: int
    sandbox_cpu_percent: float
    loadgen_cpu_percent: float
    postgres_cpu_percent: float = 0.0
    redis_cpu_percent: float = 0.0
    machine_cpu_percent: float = 0.0  # every process on the machine (200 = both cores busy)


class _CpuMeter:
    """CPU seconds of a set of processes that may change (Postgres forks a backend per connection)."""

    def __init__(self, pids: Callable[[], list[int]]) -> None:
        self._pids = pids
        self._processes: dict[int, psutil.Process] = {}

    def _current(self) -> list[psutil.Process]:
        for pid in self._pids():
            if pid not in self._processes:
                try:
                    self._processes[pid] = psutil.Process(pid)
                except psutil.NoSuchProcess:
                    continue
        return list(self._processes.values())

    def seconds(self) -> float:
        return sum(self.split())

    def split(self) -> tuple[float, float]:
        """User and system CPU seconds of the processes."""
        user = system = 0.0
        for process in self._current():
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            user, system = user + times.user, system + times.system
        return user, system

    def rss(self) -> int:
        total = 0
        for process in self._current():
            try:
                total += process.memory_info().rss
            except psutil.NoSuchProcess:
                continue
        return total


class _MachineMeter:
    """Busy CPU seconds of the whole machine, all cores (idle and I/O wait excluded)."""

    def seconds(self) -> float:
        times = psutil.cpu_times()
        return sum(times) - times.idle - getattr(times, "iowait", 0.0)


@dataclass
class Monitor:
    pids: list[int]
    sandbox_pid: int
    redis_memory: object  # () -> int
    active: object  # () -> int
    postgres_pids: Callable[[], list[int]] = list
    redis_pid: int | None = None
    every_s: float = 0.5
    ticks: list[Tick] = field(default_factory=list)
    cpu_seconds: float = 0.0  # the gateway's, over the monitored time
    cpu_split: tuple[float, float] = (0.0, 0.0)  # the gateway's user and system seconds
    part_seconds: dict[str, float] = field(default_factory=dict)  # PARTS' CPU seconds over the same time
    rss_start: int = 0

    def __post_init__(self) -> None:
        self._meters = [
            _CpuMeter(lambda: self.pids),
            _CpuMeter(lambda: [self.sandbox_pid]),
            _CpuMeter(lambda: [os.getpid()]),
            _CpuMeter(self.postgres_pids),
            _CpuMeter(lambda: [self.redis_pid] if self.redis_pid else []),
            _MachineMeter(),
        ]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-monitor", daemon=True)

    def start(self) -> "Monitor":
        self._started = time.perf_counter()
        self._start_seconds = [meter.seconds() for meter in self._meters]
        self._start_split = self._meters[0].split()
        self.rss_start = self._meters[0].rss()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        spent = [meter.seconds() - start for meter, start in zip(self._meters, self._start_seconds, strict=True)]
        self.cpu_seconds = spent[0]
        self.cpu_split = tuple(b - a for a, b in zip(self._start_split, self._meters[0].split(), strict=True))
        self.part_seconds = dict(zip(PARTS, spent[1:], strict=True))

    def _run(self) -> None:
        last = [meter.seconds() for meter in self._meters]
        last_at = time.perf_counter()
        while not self._stop.wait(self.every_s):
            now = time.perf_counter()
            current = [meter.seconds() for meter in self._meters]
            gateway, sandbox, loadgen, postgres, redis, machine = (
                100 * (c - p) / max(1e-6, now - last_at) for c, p in zip(current, last, strict=True)
            )
            last, last_at = current, now
            rss = self._meters[0].rss()
            self.ticks.append(
                Tick(
                    now - self._started,
                    gateway,
                    rss,
                    self.redis_memory(),
                    self.active(),
                    sandbox,
                    loadgen,
                    postgres,
                    redis,
                    machine,
                )  # fmt: skip
            )
