"""Samples the gateway's CPU and memory, Redis memory and the number of calls in progress."""

import threading
import time
from dataclasses import dataclass, field

import psutil


@dataclass(frozen=True)
class Tick:
    at: float  # seconds since the monitor started
    cpu_percent: float  # of one core, all gateway processes together (200 = both cores)
    rss_bytes: int  # all gateway processes together
    redis_bytes: int
    active_calls: int


@dataclass
class Monitor:
    pids: list[int]
    redis_memory: object  # () -> int
    active: object  # () -> int
    every_s: float = 0.5
    ticks: list[Tick] = field(default_factory=list)
    cpu_seconds: float = 0.0

    def __post_init__(self) -> None:
        self._processes = [psutil.Process(pid) for pid in self.pids]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-monitor", daemon=True)

    def start(self) -> "Monitor":
        self._started = time.perf_counter()
        self._cpu_start = self._cpu_total()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.cpu_seconds = self._cpu_total() - self._cpu_start

    def _cpu_total(self) -> float:
        total = 0.0
        for process in self._processes:
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        return total

    def _rss(self) -> int:
        total = 0
        for process in self._processes:
            try:
                total += process.memory_info().rss
            except psutil.NoSuchProcess:
                continue
        return total

    def _run(self) -> None:
        last_cpu, last_at = self._cpu_total(), time.perf_counter()
        while not self._stop.wait(self.every_s):
            cpu, now = self._cpu_total(), time.perf_counter()
            percent = 100 * (cpu - last_cpu) / max(1e-6, now - last_at)
            last_cpu, last_at = cpu, now
            tick = Tick(now - self._started, percent, self._rss(), self.redis_memory(), self.active())
            self.ticks.append(tick)
