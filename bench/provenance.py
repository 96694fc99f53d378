"""What a bench run measured: the commit checked out and whether the working tree differed from it.

Every script that writes results records this, so that a figure quoted in bench/README.md can be
traced to the code it measured. Without git (or outside a checkout) both are "unknown", never an error.
"""

import subprocess
from pathlib import Path
from typing import Literal, TypedDict

ROOT = Path(__file__).resolve().parents[1]
UNKNOWN: Literal["unknown"] = "unknown"
# The results themselves are git-ignored; excluded anyway so that a run's own output never counts.
_NOT_MEASURED = ":(exclude)bench/results"


class Provenance(TypedDict):
    commit: str  # the full hash of HEAD, or "unknown"
    dirty: bool | Literal["unknown"]  # uncommitted changes or untracked files beside that commit


def _git(*args: str) -> str | None:
    """Stdout of a read-only git command in the repository, or None if git cannot answer."""
    try:
        done = subprocess.run(
            # --no-optional-locks: `git status` must not take index.lock from someone working in this tree.
            ["git", "--no-optional-locks", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout


def current() -> Provenance:
    """The commit HEAD points at and whether `git status --porcelain` (bench/results aside) lists anything."""
    head = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain", "--", ".", _NOT_MEASURED)
    return {
        "commit": head.strip() if head and head.strip() else UNKNOWN,
        "dirty": UNKNOWN if status is None else bool(status.strip()),
    }


def describe(provenance: Provenance) -> str:
    """One line for a report: the commit, and whether uncommitted changes were measured with it."""
    commit = "commit unknown" if provenance["commit"] == UNKNOWN else f"commit `{provenance['commit']}`"
    if provenance["dirty"] == UNKNOWN:
        tree = "working tree state unknown"
    elif provenance["dirty"]:
        tree = "working tree dirty: uncommitted changes were measured too"
    else:
        tree = "working tree clean"
    return f"{commit} ({tree})"
