"""How much writing the PHI access record adds to a PHI answer: median ms for one record on Postgres.

Usage: .venv/bin/python bench/audit_write.py [--n 2000]
Uses BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/audit_bench), created and
migrated if needed. The table is append-only, so the bench database only grows: keep it apart.
Prints its figures (nothing is written to a file), led by the commit measured and whether the
working tree was dirty: quote that line with the figures.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import provenance  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/audit_bench"


def _prepare_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            admin.execute(f'CREATE DATABASE "{name}"')


def _record(n: int) -> None:
    from audit.records import record_phi_access

    record_phi_access(
        health_system="riverside",
        agent_client="17",
        call_session="7d0c8a1e-3f43-4f7e-9a57-2f3b1d1f1f10",
        correlation_id=f"bench-{n}",
        patient_reference="pat-123",
        action="read",
        resource_types=["Appointment"],
        resource_ids=["appt-1", "appt-2", "appt-3"],
        data_category="appointments",
        purpose="scheduling",
        outcome="success",
        source_address="10.0.0.7",
        verification_method="dob+name",
    )


def _time_own_commit(n: int) -> list[float]:
    """The record is the only write of the answer: it pays a commit (a WAL flush) of its own."""
    samples = []
    for i in range(n):
        start = time.perf_counter()
        _record(i)
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def _time_in_unit_of_work(n: int) -> list[float]:
    """The answer's unit of work commits anyway (call state, metrics): the record adds its INSERT only."""
    from django.db import connection, transaction

    samples = []
    for i in range(n):
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")  # the transaction is open before the record is written
            start = time.perf_counter()
            _record(i)
            samples.append((time.perf_counter() - start) * 1000)
    return samples


def _time_commit_only(n: int) -> list[float]:
    """For scale: an empty write transaction's commit on this machine."""
    from django.db import connection

    samples = []
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_commit_cost (n int)")
        for i in range(n):
            start = time.perf_counter()
            cursor.execute("INSERT INTO bench_commit_cost VALUES (%s)", [i])
            samples.append((time.perf_counter() - start) * 1000)
        cursor.execute("TRUNCATE bench_commit_cost")
    return samples


def _summary(label: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[int(len(ordered) * 0.95)]
    return f"{label:<44} median {statistics.median(samples):.3f} ms   p95 {p95:.3f} ms   n={len(samples)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    args = parser.parse_args()
    print(f"measuring {provenance.describe(provenance.current())}", flush=True)
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    _prepare_database(url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from audit.sealing import seal_pending

    call_command("migrate", verbosity=0)
    _time_own_commit(200)  # warm up the connection and caches
    print(_summary("record in the answer's unit of work", _time_in_unit_of_work(args.n)))
    print(_summary("record with a commit of its own (autocommit)", _time_own_commit(args.n)))
    print(_summary("for scale: a one-row INSERT + commit, raw SQL", _time_commit_only(args.n)))
    start = time.perf_counter()
    sealed = seal_pending()
    elapsed = (time.perf_counter() - start) * 1000
    print(
        f"sealing (off the request path): {sealed} records in {elapsed:.0f} ms ({elapsed / max(sealed, 1):.3f} ms each)"
    )


if __name__ == "__main__":
    main()
