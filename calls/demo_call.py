"""A scripted call played against a running gateway, the way a voice agent backend would, printed as a
transcript: who speaks and what they say, with the gateway's time for that turn at the side.

The agent speaks only what the gateway gives it (`verification.prompt`, each answer's `say`); the
caller answers one question per turn. At the end the agent's lines go through the speakability
check (ehr_integrations/normalize/speakability.py) the test suite runs over the sandbox population.
"""

import textwrap
import time
from collections.abc import Callable
from datetime import date
from typing import TextIO

import httpx

from ehr_integrations.normalize import speakability, spoken
from ehr_integrations.normalize.speakability import Line
from ehr_integrations.normalize.spoken_time import ordinal

# What the caller says for each identifier the gateway asks for (keys of the sandbox ground truth).
SPOKEN = {
    "date_of_birth": "birth_date",
    "mrn": "mrn",
    "ssn_last4": "ssn_last4",
    "family_name": "family",
    "given_name": "given",
    "phone": "phone",
}
TEXT_WIDTH = 72
MAX_TURNS = 8


def caller_says(identifier: str, value: str) -> str:
    """How a caller says an identifier aloud ("March 3rd, 1961", "six seven eight nine")."""
    if identifier == "date_of_birth":
        born = date.fromisoformat(value)
        return f"It's {born:%B} {ordinal(born.day)}, {born.year}."
    if identifier in ("ssn_last4", "mrn"):
        return f"{spoken.digits(value).capitalize()}."
    if identifier == "phone":
        return f"{spoken.phone_number(value).capitalize()}."
    return f"It's {value}."


class Transcript:
    """Lines as a conversation, the gateway's timing right of the text; agent lines kept for the check."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.agent_lines: list[Line] = []

    def line(self, who: str, text: str, timing: str = "", kind: str | None = None) -> None:
        rows = textwrap.wrap(text, TEXT_WIDTH) or [""]
        self.out.write(f"{who:>7} │ {rows[0]:<{TEXT_WIDTH}}  {timing}\n")
        for row in rows[1:]:
            self.out.write(f"{'':>7} │ {row}\n")
        self.out.flush()
        if kind:
            self.agent_lines.append(Line(kind, text, timing.strip() or who))


def _timed(call: Callable[[], httpx.Response], label: str) -> tuple[dict, str]:
    started = time.monotonic()
    body = call().json()
    return body, f"{label:<12} {(time.monotonic() - started) * 1000:4.0f} ms"


def _verify(http: httpx.Client, call: str, caller: dict, opened: dict, talk: Transcript) -> dict:
    """One identifier per turn, as the gateway asks for them, until the caller is verified (or not)."""
    talk.line("agent", f"Thanks for calling. {opened['verification']['prompt']}", kind="prompt")
    ask, answer = opened["verification"]["ask"], {}
    for _ in range(MAX_TURNS):
        value = caller[SPOKEN[ask]]
        talk.line("caller", caller_says(ask, value))
        answer, timing = _timed(lambda: http.post(f"{call}/verify", json={ask: value}), "verify")  # noqa: B023
        talk.line("agent", answer["say"], timing, kind="prompt" if answer["status"] != "escalate" else "transfer")
        if answer["status"] != "needs_more":
            break
        ask = answer["ask"]
    return answer


def _refill_question(http: httpx.Client, call: str, talk: Transcript) -> None:
    talk.line("caller", "And which of my medicines can I get refilled?")
    body, timing = _timed(lambda: http.get(f"{call}/medications"), "medications")
    talk.line("agent", body["say"], f"{timing} ({body.get('source')})", kind="tool")


def play(*, base_url: str, api_key: str, caller: dict, health_system: str, out: TextIO) -> None:
    talk = Transcript(out)
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Api-Key {api_key}"}, timeout=15) as http:
        opened = http.post("/api/v1/calls", json={"health_system": health_system}).json()["data"]
        call = f"/api/v1/calls/{opened['call_id']}"
        answer = _verify(http, call, caller, opened, talk)
        if answer["status"] == "verified":
            time.sleep(1.0)  # the caller is talking; prefetch runs meanwhile
            talk.line("caller", "Great. When is my next appointment?")
            body, timing = _timed(lambda: http.get(f"{call}/appointments"), "appointments")
            talk.line("agent", body["say"], f"{timing} ({body.get('source')})", kind="tool")
            _refill_question(http, call, talk)
            talk.line("caller", "One more thing: I've felt dizzy since I started a new medicine. Is that normal?")
            routed, timing = _timed(lambda: http.get(f"{call}/transfer", params={"purpose": "clinical"}), "transfer")
            talk.line("agent", routed["say"], timing, kind="transfer")
        _, timing = _timed(lambda: http.post(f"{call}/end", json={"reason": "demo finished"}), "end")
        talk.line("", "(call ended; the gateway has purged everything it held for it)", timing)
    _check(talk.agent_lines, out)


def _check(lines: list[Line], out: TextIO) -> None:
    measure = speakability.espeak_available()
    findings = speakability.check(lines, measure=measure)
    failing = [f for f in findings if f.problems]
    longest = max(findings, key=lambda f: f.load, default=None)
    summary = f"\nSpeakability of the agent's {len(findings)} lines: "
    summary += "all pass" if not failing else f"{len(failing)} fail"
    if measure and longest:
        summary += f"; longest {longest.seconds:.1f} s against its {longest.line.kind} limit"
        summary += f" of {speakability.LIMITS_S[longest.line.kind]:.0f} s"
    elif not measure:
        summary += " (text rules only: espeak-ng is not installed)"
    out.write(summary + "\n")
    for finding in failing:
        out.write(f"  {finding.line.text!r}: {'; '.join(finding.problems)}\n")
