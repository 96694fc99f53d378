"""The README's "A call, end to end", run as written: each command in a shell, against the gateway and
the sandbox `make demo` starts, and each sample answer the README shows matched against the real one
(`…` stands for anything). A README that drifts from the product fails here, not on a newcomer."""

import os
import re
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from calls.management.commands.run_demo import configure_demo_system, demo_agent_key
from tests.calls.live_gateway import _database_url, gateway, gateway_process  # noqa: F401  (fixtures)

ROOT = Path(__file__).resolve().parents[2]
SECTION = "## A call, end to end"
END = "@@end-of-command@@"


def walkthrough() -> list[tuple[str, str | None]]:
    """(command, sample answer or None) for every command of the section's sh blocks, in order."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index(SECTION) :].split("\n## ", 1)[0]
    steps: list[tuple[str, str | None]] = []
    for block in re.findall(r"```sh\n(.*?)```", section, re.S):
        command, sample = "", []
        for line in block.splitlines():
            if line.startswith("#"):
                sample.append(line.lstrip("#").strip())
                continue
            if steps and sample:
                steps[-1] = (steps[-1][0], sample_pattern(sample))
            sample = []
            command += line + "\n"
            if not line.endswith("\\"):
                steps.append((command, None))
                command = ""
        if steps and sample:
            steps[-1] = (steps[-1][0], sample_pattern(sample))
    return steps


def sample_pattern(lines: list[str]) -> str:
    """A sample wrapped over comment lines, as a pattern: `…` is anything; a wrap may have been a space."""
    return r"\s?".join(".*?".join(re.escape(part) for part in line.split("…")) for line in lines)


@pytest.mark.skipif(not (ROOT / ".venv" / "bin" / "python").exists(), reason="the README uses .venv/bin/python")
def test_the_readme_walkthrough_opens_a_call_and_verifies_the_caller(gateway, sandbox_factory, tmp_path, settings):  # noqa: F811
    sandbox = sandbox_factory(flavour="epic", patients=500, seed=7)  # what make demo starts
    settings.MEDIA_ROOT = tmp_path / "media"
    demo_agent_key(configure_demo_system(urlsplit(sandbox.base_url).port, "walkthrough-secret"))
    steps = walkthrough()
    script = "".join(f"{command}echo; echo {END}\n" for command, _ in steps)
    script = script.replace("http://127.0.0.1:8000", gateway.url).replace("http://127.0.0.1:8081", sandbox.base_url)
    env = os.environ | {"DATABASE_URL": _database_url(), "MEDIA_ROOT": str(settings.MEDIA_ROOT)}

    run = subprocess.run(["bash", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=90)  # noqa: S603, S607

    answers = run.stdout.split(f"\n{END}\n")
    assert len(answers) == len(steps) + 1, run.stderr
    samples = [(command, sample, answer.strip()) for (command, sample), answer in zip(steps, answers, strict=False)]
    assert len([s for s in samples if s[1]]) >= 8  # every answer the section shows is checked
    for command, sample, answer in samples:
        if sample:
            assert re.fullmatch(sample, answer, re.S), f"{command}README shows {sample}\ngot {answer}"
    assert '{"status":"verified"' in run.stdout
