"""Can a voice read this line? Text rules and the spoken length, measured with espeak-ng.

Used by the speakability check (tests/speech/) over the sandbox population and by `make demo` on its
own transcript. Limits per answer kind (issue 20): verification prompts at most 6 s, tool answers
12 s, transfers 8 s, at espeak-ng's default English voice (175 words a minute).
"""

import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from xml.sax.saxutils import escape

from ehr_integrations.normalize.spoken import ACRONYMS

LIMITS_S = {"prompt": 6.0, "tool": 12.0, "transfer": 8.0}
UNIT_ABBREVIATIONS = re.compile(
    r"(?i)\b(mg|mcg|µg|ug|ml|meq|unt|iu|tabs?|caps?|po|bid|tid|qd|prn|actuat|hr|soln|susp)\b|\d\s*%"
)
CAPITALS = re.compile(r"\b[A-Z]{2,}\b")
NUMBER_RUN = re.compile(r"\d(?:[\d\-./]*\d)?")
MAX_DIGITS = 4  # a year; a date or a time never runs longer
CODE_MARKS = re.compile(r"[\[\]{}()<>_|#\\;/]|https?:|\b[a-z]+\d{3,}\b")
BREAK_MS = 1000  # between lines: longer than any pause inside one (at most about 0.4 s)
GAP_S = 0.7


@dataclass(frozen=True)
class Line:
    kind: str  # a key of LIMITS_S
    text: str
    source: str  # where it came from, for the report (never PHI outside the sandbox)


@dataclass(frozen=True)
class Finding:
    line: Line
    seconds: float | None
    problems: tuple[str, ...]

    @property
    def load(self) -> float:
        """Spoken length as a share of the kind's limit (what "worst" sorts by)."""
        return (self.seconds or 0.0) / LIMITS_S[self.line.kind]


def text_problems(text: str) -> list[str]:
    """What a voice would read badly: all-capitals words, unit abbreviations, long digit runs, codes."""
    problems = [f"capitals {word!r}" for word in CAPITALS.findall(text) if word not in ACRONYMS]
    problems += [f"unit abbreviation {m.group(0)!r}" for m in UNIT_ABBREVIATIONS.finditer(text)]
    problems += [
        f"digit run {m.group(0)!r}" for m in NUMBER_RUN.finditer(text) if sum(c.isdigit() for c in m[0]) > MAX_DIGITS
    ]
    problems += [f"code mark {m.group(0)!r}" for m in CODE_MARKS.finditer(text)]
    return problems


def espeak_available() -> bool:
    return shutil.which("espeak-ng") is not None


def _utterances(stream: BinaryIO, rate: int) -> Iterator[float]:
    """Seconds of each line in espeak-ng's 16-bit mono stream, split at the silences between lines."""
    gap = b"\0" * (2 * int(rate * GAP_S))
    pending = b""
    while chunk := stream.read(1 << 20):
        pending += chunk
        while (at := pending.find(gap)) >= 0:
            if sound := pending[:at].strip(b"\0"):
                yield len(sound) / (2 * rate)
            pending = pending[at:].lstrip(b"\0")
    if sound := pending.strip(b"\0"):
        yield len(sound) / (2 * rate)


def spoken_seconds(texts: list[str]) -> list[float]:
    """How long espeak-ng's default English voice takes to say each text: one process for them all."""
    pause = f'<break time="{BREAK_MS}ms"/>'
    ssml = "<speak>" + "".join(f"{escape(text)}{pause}" for text in texts) + "</speak>"
    with tempfile.NamedTemporaryFile("w", suffix=".ssml", encoding="utf-8") as source:
        source.write(ssml)
        source.flush()
        command = ["espeak-ng", "-v", "en", "-s", "175", "-m", "--stdout", "-f", source.name]
        with subprocess.Popen(command, stdout=subprocess.PIPE) as process:  # noqa: S603
            header = process.stdout.read(44)  # canonical WAV header: the rate is at bytes 24-27
            rate = int.from_bytes(header[24:28], "little")
            seconds = list(_utterances(process.stdout, rate))
    if len(seconds) != len(texts):
        raise RuntimeError(f"espeak-ng gave {len(seconds)} utterances for {len(texts)} lines")
    return seconds


def check(lines: Iterable[Line], *, measure: bool = True) -> list[Finding]:
    """Every line with its spoken length (identical texts measured once) and its problems."""
    lines = list(lines)
    texts = list(dict.fromkeys(line.text for line in lines))
    lengths = dict(zip(texts, spoken_seconds(texts), strict=True)) if measure else {}
    findings = []
    for line in lines:
        seconds = lengths.get(line.text)
        problems = text_problems(line.text)
        if seconds is not None and seconds > LIMITS_S[line.kind]:
            problems.append(f"{seconds:.1f} s spoken, over the {line.kind} limit of {LIMITS_S[line.kind]:.0f} s")
        findings.append(Finding(line, seconds, tuple(problems)))
    return findings


def report(findings: list[Finding], *, worst: int = 10) -> str:
    """The failing lines, then the longest lines of each kind against their limit."""
    out = [f"speakability: {len(findings)} lines, {len({f.line.text for f in findings})} distinct"]
    failing = [f for f in findings if f.problems]
    out.append(f"failing: {len(failing)}")
    out += [f"  FAIL [{f.line.kind}] {f.line.source}: {f.line.text!r}: {'; '.join(f.problems)}" for f in failing[:50]]
    for kind, limit in LIMITS_S.items():
        of_kind = sorted({f.line.text: f for f in findings if f.line.kind == kind}.values(), key=lambda f: -f.load)
        if not of_kind:
            continue
        out.append(f"longest {kind} lines (limit {limit:.0f} s):")
        out += [f"  {f.seconds or 0:5.2f} s  {f.line.source}: {f.line.text}" for f in of_kind[:worst]]
    return "\n".join(out)


def write_report(text: str, name: str = "speakability-report.txt") -> Path:
    path = Path(tempfile.gettempdir()) / name
    path.write_text(text + "\n", encoding="utf-8")
    return path
