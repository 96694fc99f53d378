"""The bench's outputs: a JSON result, a markdown report with the figures beside their targets, PNG plots."""

import json
import signal
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import matplotlib
import numpy as np

from bench import provenance, stats

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

MB = 1024 * 1024


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if not numerator or not denominator:
        return None
    return round(numerator / denominator, 2)


def targets(results: dict) -> list[dict]:
    """Each figure the issue names: the target, what was measured, and whether it is met."""
    gateway, baseline, probe = results["gateway"], results["baseline"] or {}, results["probes"]
    loaded = results["probes_under_load"]
    raw = gateway["raw"].samples
    prefetched = stats.percentiles(stats.tool_latencies(raw, "prefetch"))
    quiet = stats.percentiles(probe.prefetched_ms)
    quiet_note = f"; one at a time, no load: p50 {quiet.get('p50')} ms, p99 {quiet.get('p99')} ms (n={quiet['n']})"
    overhead, overhead_loaded = _live_overhead(probe), _live_overhead(loaded)
    prefetch_ratio, ratio_loaded = _prefetch_ratio(probe), _prefetch_ratio(loaded)
    in_progress = stats.percentiles(loaded.calls_in_progress)
    after = _ratio(
        baseline.get("wait_after_verification_ms", {}).get("p50"), gateway["wait_after_verification_ms"].get("p50")
    )
    whole = _ratio(baseline.get("wait_ms", {}).get("p50"), gateway["wait_ms"].get("p50"))
    pending = stats.percentiles(probe.pending_ms)
    ready = stats.percentiles(probe.pending_ready_after_ehr_ms)
    calls = gateway["calls"]
    complete = gateway.get("completing_verify_ms") or {"all": {"n": 0}}
    kinds = "; ".join(f"{kind} p50 {complete[kind].get('p50')} ms (n={complete[kind]['n']})"
                      for kind in ("hit", "waited", "miss") if kind in complete)  # fmt: skip
    used = resources(results)
    cpu_ms, machine_ms = used["gateway_cpu_ms_per_call"], used["machine_cpu_ms_per_call"]
    return [
        _row(
            f"{calls} concurrent calls, zero errors",
            "0 errors",
            f"{gateway['request_errors']} request errors, {calls - gateway['calls_completed']} calls not completed; "
            f"peak {results['peak_active_calls']} calls in progress at once",
            gateway["request_errors"] == 0 and gateway["calls_completed"] == calls,
        ),
        _row(
            "prefetched tool calls p50, under the load",
            "< 10 ms",
            f"{prefetched.get('p50')} ms" + quiet_note,
            (prefetched.get("p50") or 1e9) < 10,
        ),
        _row(
            "prefetched tool calls p99, under the load",
            "< 50 ms",
            f"{prefetched.get('p99')} ms",
            (prefetched.get("p99") or 1e9) < 50,
        ),
        _row(
            "live tool call over the EHR's own latency (p50), one at a time after the load",
            "<= 20 ms",
            f"{overhead.get('p50')} ms (p95 {overhead.get('p95')} ms, n={overhead['n']})",
            (overhead.get("p50") or 1e9) <= 20,
        ),
        _row(
            "live tool call over the EHR's own latency (p50), during the load",
            "<= 20 ms",
            f"{overhead_loaded.get('p50')} ms (p95 {overhead_loaded.get('p95')} ms, n={overhead_loaded['n']}; "
            f"{in_progress.get('p50')} calls in progress at a probe's start, p50)",
            (overhead_loaded.get("p50") or 1e9) <= 20,
        ),
        _row(
            "prefetch of three resources / slowest single fetch (p50)",
            "<= 1.2x",
            f"{prefetch_ratio.get('p50')}x (p95 {prefetch_ratio.get('p95')}x, n={prefetch_ratio['n']}); "
            f"during the load {ratio_loaded.get('p50')}x (n={ratio_loaded['n']})",
            (prefetch_ratio.get("p50") or 1e9) <= 1.2,
        ),
        _row(
            "agent's wait after verification, baseline / gateway (p50)",
            ">= 50x",
            f"{after}x ({baseline.get('wait_after_verification_ms', {}).get('p50')} ms vs "
            f"{gateway['wait_after_verification_ms'].get('p50')} ms)",
            (after or 0) >= 50,
        ),
        _row(
            "verify turn completing the factor set (p50), under the load",
            "<= 50 ms",
            f"{complete['all'].get('p50')} ms (p95 {complete['all'].get('p95')} ms); {kinds}",
            (complete["all"].get("p50") or 1e9) <= 50,
        ),
        _row(
            "agent's wait for the whole call, baseline / gateway (p50)",
            ">= 50x",
            f"{whole}x ({baseline.get('wait_ms', {}).get('p50')} ms vs {gateway['wait_ms'].get('p50')} ms)",
            (whole or 0) >= 50,
        ),
        _row(
            "gateway CPU per call",
            "<= 30 ms",
            f"{cpu_ms} ms; whole machine {machine_ms} ms per call (Postgres, Redis, sandbox, load generator included)",
            cpu_ms <= 30,
        ),
        _row(
            "pending mode: `?wait=0` answers `pending` with a filler (p50, quiet)",
            "< 30 ms",
            f"{pending.get('p50')} ms (p95 {pending.get('p95')} ms, n={pending['n']})",
            (pending.get("p50") or 1e9) < 30,
        ),
        _row(
            "pending mode: answer ready after the EHR's last response (p50, polled every 10 ms)",
            "< 100 ms",
            f"{ready.get('p50')} ms (p95 {ready.get('p95')} ms, n={ready['n']})",
            (ready.get("p50") or 1e9) < 100,
        ),
        _row(
            "token requests per connection per lifetime, all processes",
            "1",
            f"{results['gateway_token_requests_lifetime']} (token lifetime 3600 s, gateway up for the whole run)",
            results["gateway_token_requests_lifetime"] == 1,
        ),
    ]


def _live_overhead(probe) -> dict:
    return stats.percentiles([a - b for a, b in zip(probe.live_ms, probe.live_ehr_ms, strict=True)])


def _prefetch_ratio(probe) -> dict:
    return stats.percentiles([a / b for a, b in zip(probe.prefetch_ms, probe.slowest_fetch_ms, strict=True)])


def _row(figure: str, target: str, measured: str, met: bool) -> dict:
    return {"figure": figure, "target": target, "measured": measured, "met": bool(met)}


def resources(results: dict) -> dict:
    monitor, gateway = results["monitor"], results["gateway"]
    ticks = monitor.ticks
    peak_active = max((t.active_calls for t in ticks), default=0)
    peak_redis = max((t.redis_bytes for t in ticks), default=results["redis_before"])
    peak_rss = max((t.rss_bytes for t in ticks), default=monitor.rss_start)
    per_call = {
        f"{part}_cpu_ms_per_call": round(1000 * seconds / max(1, gateway["calls"]), 1)
        for part, seconds in monitor.part_seconds.items()
    }
    return {
        "gateway_cpu_seconds": round(monitor.cpu_seconds, 1),
        "gateway_cpu_ms_per_call": round(1000 * monitor.cpu_seconds / max(1, gateway["calls"]), 1),
        # The kernel's share, which an instruction count (bench/instructions.py) does not see.
        "gateway_cpu_user_system_ms_per_call": "{:.1f} / {:.1f}".format(
            *(1000 * seconds / max(1, gateway["calls"]) for seconds in monitor.cpu_split)
        ),
        **per_call,
        "gateway_cpu_percent_mean": round(float(np.mean([t.cpu_percent for t in ticks])), 1) if ticks else None,
        "gateway_cpu_percent_peak": round(max((t.cpu_percent for t in ticks), default=0), 1),
        "gateway_rss_mb_peak": round(max((t.rss_bytes for t in ticks), default=0) / MB, 1),
        "redis_bytes_per_call_in_progress": round((peak_redis - results["redis_before"]) / max(1, peak_active)),
        "gateway_rss_bytes_per_call_in_progress": round((peak_rss - monitor.rss_start) / max(1, peak_active)),
        "redis_bytes_left_after_all_calls_ended": results["redis_after"] - results["redis_before"],
        "peak_active_calls": peak_active,
        "sandbox_ehr_cpu_percent_mean_peak": _mean_peak([t.sandbox_cpu_percent for t in ticks]),
        "load_generator_cpu_percent_mean_peak": _mean_peak([t.loadgen_cpu_percent for t in ticks]),
        "postgres_cpu_percent_mean_peak": _mean_peak([t.postgres_cpu_percent for t in ticks]),
        "redis_cpu_percent_mean_peak": _mean_peak([t.redis_cpu_percent for t in ticks]),
        "machine_cpu_percent_mean_peak": _mean_peak([t.machine_cpu_percent for t in ticks]),
    }


def _mean_peak(values: list[float]) -> str:
    return f"{np.mean(values):.0f} / {max(values):.0f}" if values else "-"


def _json_ready(results: dict) -> dict:
    # First in the file: the commit measured and whether the tree was dirty (now, if the caller did not say).
    out: dict = {"provenance": results.get("provenance") or provenance.current()}
    for name in ("gateway", "baseline"):
        phase = results[name]
        if phase is None:
            out[name] = None
            continue
        out[name] = {k: v for k, v in phase.items() if k != "raw"}
        out[name]["failed_calls"] = dict(phase["failed_calls"])
        out[name]["samples"] = [
            [s.endpoint, round(s.at, 3), round(s.ms, 2), s.outcome, s.source] for s in phase["raw"].samples
        ]
        out[name]["calls_detail"] = [asdict(c) for c in phase["raw"].calls]
    out["probes"] = asdict(results["probes"])
    out["probes_under_load"] = asdict(results["probes_under_load"])
    out["idle_wake"] = results["idle_wake"]
    out["monitor"] = [asdict(t) for t in results["monitor"].ticks]
    out["resources"] = resources(results)
    out["targets"] = targets(results)
    out["config"] = results["config"]
    out["gateway_token_requests_lifetime"] = results["gateway_token_requests_lifetime"]
    out["profile"] = results.get("profile")
    return out


def write(results: dict, directory: Path, stamp: str) -> list[Path]:
    data = _json_ready(results)
    json_path = directory / f"{stamp}.json"
    json_path.write_text(json.dumps(data, indent=1, default=str))
    plots = [
        _plot_latency(results, directory / f"{stamp}-latency.png"),
        _plot_versus(results, directory / f"{stamp}-gateway-vs-baseline.png"),
        _plot_resources(results, directory / f"{stamp}-resources.png"),
    ]
    md_path = directory / f"{stamp}.md"
    md_path.write_text(markdown(data, stamp, [p.name for p in plots]))
    return [json_path, md_path, *plots]


def _table(rows: list[list], header: list[str]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def markdown(data: dict, stamp: str, plots: list[str]) -> str:
    config, gateway, baseline = data["config"], data["gateway"], data["baseline"]
    parts = [
        f"# Load bench {stamp}",
        "",
        f"Measured {provenance.describe(data['provenance'])}.",
        "",
        f"{config['calls']} scripted calls started over {config['ramp_s']:.0f} s (speech x{config['speech_scale']}), "
        f"EHR latency {config['ehr_latency']}, gateway: {config.get('server', 'uvicorn')}, "
        f"{config['workers']} workers, DEBUG off, "
        f"{config['cpus']} CPU cores shared with other work "
        f"(load average at start {config['load_average_at_start'][0]:.1f}).",
        "",
        "## Targets",
        _table(
            [[t["figure"], t["target"], t["measured"], "met" if t["met"] else "NOT met"] for t in data["targets"]],
            ["figure", "target", "measured", ""],
        ),
        "",
        "Probe failures: "
        + (
            "; ".join(
                f"{when}: {', '.join(data[key]['failures'])}"
                for key, when in (("probes", "after the load"), ("probes_under_load", "during the load"))
                if data[key]["failures"]
            )
            or "none"
        )
        + ".",
        "",
        "## Gateway endpoints (ms)",
        _endpoint_table(gateway),
    ]
    if baseline:
        parts += ["", "## Direct-FHIR baseline (ms)", _endpoint_table(baseline)]
    rows = [
        [
            name,
            _fmt(phase, "wait_ms"),
            _fmt(phase, "wait_after_verification_ms"),
            phase["ehr_requests_per_call"],
            phase["token_requests"],
            f"{phase['calls_completed']}/{phase['calls']}",
        ]
        for name, phase in (("gateway", gateway), ("baseline", baseline))
        if phase
    ]
    parts += [
        "",
        "## Per call",
        _table(
            rows,
            [
                "",
                "agent wait, whole call p50/p95/p99",
                "after verification p50/p95/p99",
                "EHR requests per call",
                "token requests",
                "completed",
            ],
        ),
    ]
    resources = data["resources"]
    parts += [
        "",
        "## Resources (gateway phase)",
        _table([[k.replace("_", " "), v] for k, v in resources.items()], ["", ""]),
        "",
        "## This machine, idle",
        "A Redis PING from the bench, back to back and after the machine sat idle (ms, p50): "
        + ", ".join(f"{k} {v} ms" for k, v in data["idle_wake"].items())
        + ". Every hop of a quiet probe to a process that had been idle pays the difference.",
    ]
    if data.get("profile"):
        prof = data["profile"]
        parts += ["", f"## Where the gateway's time goes (py-spy, {prof['samples']} samples, all threads)"]
        parts += [_table([[k, v] for k, v in prof["layers_percent"].items()], ["layer (innermost frame)", "%"])]
        parts += [
            "",
            _table(
                [[k, v] for k, v in prof["gateway_functions_inclusive_percent"].items()],
                ["gateway function (inclusive)", "%"],
            ),
        ]
    parts += ["", "## Plots", *[f"![{name}]({name})" for name in plots], ""]
    return "\n".join(parts)


def _fmt(phase: dict, name: str) -> str:
    p = phase[name]
    return f"{p.get('p50')} / {p.get('p95')} / {p.get('p99')}"


def _endpoint_table(phase: dict) -> str:
    rows = [
        [name, s["n"], s.get("p50"), s.get("p95"), s.get("p99"), s.get("max"), s["errors"], s["sources"] or ""]
        for name, s in phase["endpoints"].items()
    ]
    return _table(rows, ["endpoint", "n", "p50", "p95", "p99", "max", "errors", "sources"])


def _cdf(ax, values: list[float], label: str) -> None:
    if not values:
        return
    ordered = np.sort(values)
    ax.plot(ordered, np.arange(1, len(ordered) + 1) / len(ordered), label=f"{label} (n={len(ordered)})")


def _plot_latency(results: dict, path: Path) -> Path:
    samples = results["gateway"]["raw"].samples
    fig, ax = plt.subplots(figsize=(9, 5))
    for endpoint in ("open", "verify", "end"):
        _cdf(ax, [s.ms for s in samples if s.endpoint == endpoint], endpoint)
    _cdf(ax, stats.tool_latencies(samples, "prefetch"), "tool call, prefetched")
    _cdf(ax, stats.tool_latencies(samples, "live"), "tool call, live")
    _cdf(ax, results["probes"].live_ms, "tool call, live (quiet probes)")
    _log_axis(ax, "latency seen by the agent (ms, log scale)", "Gateway latency distributions")
    ax.set_ylabel("share of requests")
    return _save(fig, path)


def _log_axis(ax, label: str, title: str) -> None:
    ax.set_xscale("log")
    ax.set_xlabel(label)
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _plot_versus(results: dict, path: Path) -> Path:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    for ax, name, title in zip(
        axes, ("wait_after_verification_ms", "wait_ms"), ("after verification", "whole call"), strict=True
    ):
        for label, phase in (("gateway", results["gateway"]), ("direct-FHIR baseline", results["baseline"])):
            if phase:
                field = name.removesuffix("_ms")
                _cdf(ax, [getattr(c, field + "_ms") for c in phase["raw"].calls if c.ok], label)
        _log_axis(ax, "agent's total wait per call (ms, log scale)", f"Agent wait, {title}")
    return _save(fig, path)


def _plot_resources(results: dict, path: Path) -> Path:
    ticks = results["monitor"].ticks
    at = [t.at for t in ticks]
    fig, axes = plt.subplots(6, 1, figsize=(9, 11), sharex=True)
    series = (
        ([t.active_calls for t in ticks], "calls in progress"),
        ([t.cpu_percent for t in ticks], "gateway CPU (% of a core)"),
        ([t.sandbox_cpu_percent for t in ticks], "sandbox EHR CPU (%)"),
        ([t.loadgen_cpu_percent for t in ticks], "load generator CPU (%)"),
        ([t.rss_bytes / MB for t in ticks], "gateway RSS (MB)"),
        ([t.redis_bytes / MB for t in ticks], "Redis used memory (MB)"),
    )
    for ax, (values, label) in zip(axes, series, strict=True):
        ax.plot(at, values)
        ax.set_ylabel(label, fontsize=8)
        ax.grid(True, alpha=0.3)
    axes[-1].set_xlabel("seconds into the gateway phase")
    return _save(fig, path)


def start_profiler(gateway, output: Path) -> subprocess.Popen:
    py_spy = str(Path(sys.executable).parent / "py-spy")
    command = [py_spy, "record", "--pid", str(gateway.process.pid), "--subprocesses", "--rate", "50",
               "--format", "raw", "--output", str(output), "--nonblocking"]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603


def stop_profiler(profiler: subprocess.Popen) -> None:
    profiler.send_signal(signal.SIGINT)
    try:
        profiler.wait(timeout=60)
    except subprocess.TimeoutExpired:
        profiler.kill()
