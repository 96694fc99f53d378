"""Where the gateway's time goes: a py-spy raw profile (collapsed stacks) summarised by layer and function."""

import re
from collections import Counter
from pathlib import Path

# Checked from the innermost frame outwards: the first layer a frame belongs to takes the sample.
LAYERS = (
    ("Postgres (psycopg, pool)", ("psycopg",)),
    ("Redis (redis-py, django-redis)", ("redis/", "django_redis")),
    ("encryption (Fernet)", ("cryptography",)),
    ("EHR HTTP client (aiohttp)", ("aiohttp", "yarl", "multidict")),
    ("Django ORM", ("django/db",)),
    ("thread hand-offs (asgiref, executors)", ("asgiref", "concurrent/futures", "threading.py")),
    ("gateway code", ("calls/", "ehr_integrations/", "audit/", "compliance/", "config/")),
    ("DRF and Django request handling", ("rest_framework", "django/")),
    ("uvicorn and the event loops", ("uvicorn", "httptools", "asyncio", "uvloop", "selectors")),
)
PROJECT = ("calls/", "ehr_integrations/", "audit/", "compliance/")
FRAME = re.compile(r"^(?P<function>.+) \((?P<file>[^:()]+)(?::\d+)?\)$")


def _stacks(path: Path):
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            yield [FRAME.match(f) for f in stack.split(";")], int(count)


def summarize(path: Path, top: int = 15) -> dict:
    layers: Counter = Counter()
    functions: Counter = Counter()
    total = 0
    for frames, count in _stacks(path):
        total += count
        files = [m["file"] if m else "" for m in frames]
        layer = next(
            (name for f in reversed(files) for name, needles in LAYERS if any(n in f for n in needles)), "other"
        )
        layers[layer] += count
        seen = {f"{m['function']} ({m['file']})" for m in frames if m and m["file"].startswith(PROJECT)}
        for name in seen:
            functions[name] += count
    share = lambda n: round(100 * n / max(1, total), 1)  # noqa: E731
    return {
        "samples": total,
        "layers_percent": {name: share(n) for name, n in layers.most_common()},
        "gateway_functions_inclusive_percent": {name: share(n) for name, n in functions.most_common(top)},
    }
