"""Gateway instructions per call, step by step, counted by valgrind (callgrind): a figure that does
not move with the machine.

CPU time on a shared VM moves from one minute to the next (bench/README.md, sessions 11-12: the
same loop 496 to 942 us); an instruction count of the same code and inputs does not. The gateway
(granian, one worker) runs under `valgrind --tool=callgrind --instr-atstart=no`; the calls are the
same as `cpu_steps.py`'s, played one at a time, and each step's count is dumped when it ends
(its background work, the speculative search or the prefetch, included by a pause).
Configuration copies are kept for the run (`LOCAL_CACHE_SECONDS`): under valgrind a call lasts
seconds, and their refresh, a cost per second and not per call, would otherwise be charged to it.

    python bench/instructions.py --calls 10   # ~5 min here: the gateway starts slowly under valgrind
    python bench/instructions.py --calls 3 --keep appointments  # + that step's dumps, for callgrind_annotate
    python bench/instructions.py --calls 3 --keep all  # + every step's dumps of the first call

Instructions are not seconds: compare commits by their counts, and scale a measured CPU figure by
the ratio of counts (the notes say when they do).
"""

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import uvloop  # noqa: E402

from bench import provenance, world  # noqa: E402
from bench.clients import AgentHttp  # noqa: E402
from bench.cpu_steps import STEPS, one_call  # noqa: E402
from tests.fixtures.processes import GatewayProcess  # noqa: E402

SUMMARY = re.compile(rb"^(?:summary|totals): (\d+)", re.MULTILINE)


class Counts:
    """Instructions of every valgrind'd gateway process since the last `take` (callgrind dumps and zeroes)."""

    def __init__(self, out: Path, keep: Path | None = None) -> None:
        self.out = out
        self.keep = keep  # where `take(keep=STEP)` moves its dumps, for callgrind_annotate

    def _control(self, *args: str) -> None:
        subprocess.run(["callgrind_control", *args], check=True, capture_output=True, timeout=120)  # noqa: S603, S607

    def start(self) -> None:
        self._control("--instr=on")
        self.take()  # what switching on cost

    def take(self, *, keep: str = "") -> int:
        self._control("--dump")
        total = 0
        for dump in self.out.glob("callgrind.*"):
            found = SUMMARY.search(dump.read_bytes())
            total += int(found.group(1)) if found else 0
            if keep and self.keep:
                dump.rename(self.keep / f"callgrind.{keep}.{dump.name.split('.', 1)[1]}")
            else:
                dump.unlink()
        return total


async def measure(args, w: world.World, gateway: GatewayProcess, counts: Counts) -> dict[str, list[int]]:
    per_step: dict[str, list[int]] = defaultdict(list)
    headers = {"Authorization": f"Api-Key {w.api_key}"}
    async with AgentHttp(gateway.base_url, headers) as http:
        for i in range(2):  # warm-up, not counted (and not instrumented: fast)
            await one_call(http, w.slug, w.callers[-1 - i], 0.5, lambda *_: None)
        counts.start()
        for i in range(args.calls):  # after each step and its pause: that step's count (a blocking dump)

            def charge(name: str, _wall: float, first: bool = i == 0) -> None:
                per_step[name].append(counts.take(keep=name if first and args.keep in (name, "all") else ""))

            await one_call(http, w.slug, w.callers[i], args.settle, charge)
    return per_step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=10)
    parser.add_argument("--settle", type=float, default=1.5, help="seconds after each step (under valgrind)")
    parser.add_argument(
        "--keep",
        choices=(*STEPS, "all"),
        help="keep this step's (or every step's) dumps of the first call in bench/results/",
    )
    args = parser.parse_args()
    if not shutil.which("valgrind"):
        sys.exit("valgrind is not installed (Debian package valgrind)")
    print(f"measuring {provenance.describe(provenance.current())}", flush=True)
    out = Path(tempfile.mkdtemp(prefix="gw-callgrind-"))
    valgrind = (
        "valgrind", "--tool=callgrind", "--instr-atstart=no", "--trace-children=yes",
        f"--callgrind-out-file={out}/callgrind.%p", "--dump-line=no", "--log-file=/dev/null",
    )  # fmt: skip
    kept = ROOT / "bench" / "results" if args.keep else None
    if kept:
        kept.mkdir(exist_ok=True)
    try:
        with world.step_bench(
            args.calls, name="instructions", extra_env={"LOCAL_CACHE_SECONDS": "3600"}, wrapper=valgrind,
            start_timeout_s=900,
        ) as bench:  # fmt: skip
            per_step = uvloop.run(measure(args, bench.world, bench.gateway, Counts(out, kept)))
    finally:
        shutil.rmtree(out, ignore_errors=True)
    report(args.calls, per_step)


def report(calls: int, per_step: dict[str, list[int]]) -> None:
    total = sum(sum(values) for values in per_step.values())
    print(f"{calls} calls: {total / calls / 1e6:.2f} M instructions per call (gateway, callgrind)")
    print(f"{'step':<18}{'median M':>10}{'mean M':>10}")
    for name in STEPS:
        values = per_step[name]
        print(f"{name:<18}{statistics.median(values) / 1e6:>10.2f}{statistics.fmean(values) / 1e6:>10.2f}")


if __name__ == "__main__":
    main()
