"""Samples the gateway's CPU and memory, Redis memory and the calls in progress; and the CPU of the
sandbox EHR and of the load generator, to show whether the instruments themselves were saturated."""

import os
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
    sandbox_cpu_percent: float
    loadgen_cpu_percent: float


class _CpuMeter:
    def __init__(self, pids: list[int]) -> None:
        self.processes = [psutil.Process(pid) for pid in pids]

    def seconds(self) -> float:
        total = 0.0
        for process in self.processes:
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        return total

    def rss(self) -> int:
        total = 0
        for process in self.processes:
            try:
                total += process.memory_info().rss
            except psutil.NoSuchProcess:
                continue
        return total


@dataclass
class Monitor:
    pids: list[int]
    sandbox_pid: int
    redis_memory: object  # () -> int
    active: object  # () -> int
    every_s: float = 0.5
    ticks: list[Tick] = field(default_factory=list)
    cpu_seconds: float = 0.0

    def __post_init__(self) -> None:
        self._meters = [_CpuMeter(self.pids), _CpuMeter([self.sandbox_pid]), _CpuMeter([os.getpid()])]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-monitor", daemon=True)

    def start(self) -> "Monitor":
        self._started = time.perf_counter()
        self._cpu_start = self._meters[0].seconds()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.cpu_seconds = self._meters[0].seconds() - self._cpu_start

    def _run(self) -> None:
        last = [meter.seconds() for meter in self._meters]
        last_at = time.perf_counter()
        while not self._stop.wait(self.every_s):
            now = time.perf_counter()
            current = [meter.seconds() for meter in self._meters]
            gateway, sandbox, loadgen = (
                100 * (c - p) / max(1e-6, now - last_at) for c, p in zip(current, last, strict=True)
            )
            last, last_at = current, now
            rss = self._meters[0].rss()
            self.ticks.append(
                Tick(now - self._started, gateway, rss, self.redis_memory(), self.active(), sandbox, loadgen)
            )
