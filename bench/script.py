"""One scripted call, played through the gateway or through the direct-FHIR baseline.

open -> "date of birth and name?" -> verify -> "and the last four of your SSN?" -> verify -> three
questions, each asked after the agent has finished speaking -> goodbye -> end. The pauses stand for
speech and are the same for both; only the requests the agent waits on are timed. The turn that
completes the factor set is timed apart (`verify_complete`): while the caller speaks the second
factor, the gateway's speculative search runs (issue 24).
"""

import asyncio
import random
import time

from bench.baseline import DirectFhirAgent
from bench.clients import AgentHttp, Reply
from bench.recorder import CallFailed, CallResult, Recorder
from calls.demo_call import SPOKEN

TOOLS = ("appointments", "medications", "messages")
# Seconds of speech before each request (caller and agent talking), jittered +-25 %.
SPEECH_S = {
    "dob": 4.0,  # greeting, "may I have your date of birth and your name?", the answer
    "second_factor": 3.5,  # "and the last four digits of your Social Security number?", the answer
    "appointments": 4.5,  # "thank you, you're verified", the first question
    "medications": 6.0,  # the appointments spoken, the next question
    "messages": 6.0,
    "end": 4.0,  # the last answer spoken, goodbye
}


class Pacer:
    def __init__(self, scale: float, seed: int) -> None:
        self.scale = scale
        self.rng = random.Random(seed)

    async def speak(self, moment: str) -> None:
        if self.scale:
            await asyncio.sleep(SPEECH_S[moment] * self.scale * self.rng.uniform(0.75, 1.25))


def _expect(response: Reply, status: str) -> dict:
    body = response.json()
    if body.get("status") != status:
        raise CallFailed(f"expected {status}, got {body.get('status')} ({response.status_code})")
    return body


async def gateway_call(http: AgentHttp, rec: Recorder, slug: str, caller: dict, pacer: Pacer) -> CallResult:
    call = CallResult()
    opened, _ = await rec.request(http, "open", "POST", "/api/v1/calls", call, json={"health_system": slug})
    path = f"/api/v1/calls/{_expect(opened, 'ok')['data']['call_id']}"
    call.call_id = path.rsplit("/", 1)[-1]
    await pacer.speak("dob")
    first, _ = await rec.request(http, "verify", "POST", f"{path}/verify", call, json=_named(caller))
    missing = _expect(first, "needs_more")["missing"]
    await pacer.speak("second_factor")
    given = {name: caller[SPOKEN[name]] for name in missing}
    call.completed_at = time.time()  # wall clock, beside the audit log's search records (run.py)
    second, call.complete_ms = await rec.request(http, "verify_complete", "POST", f"{path}/verify", call, json=given)
    _expect(second, "verified")
    for tool in TOOLS:
        await pacer.speak(tool)
        answer, ms = await rec.request(http, tool, "GET", f"{path}/{tool}", call)
        _expect(answer, "ok")
        call.wait_after_verification_ms += ms
    await pacer.speak("end")
    ended, _ = await rec.request(http, "end", "POST", f"{path}/end", call, json={"reason": "bench"})
    _expect(ended, "ended")
    call.ok = True
    return call


def _named(caller: dict) -> dict:
    """The first answer: a birth date and a name (the default policy then asks the SSN's last four)."""
    return {"date_of_birth": caller["birth_date"], "family_name": caller["family"], "given_name": caller["given"]}


async def baseline_call(agent: DirectFhirAgent, rec: Recorder, caller: dict, pacer: Pacer) -> CallResult:
    """The same conversation with tools that call FHIR themselves: a token and the searches per tool call."""
    call = CallResult()
    await pacer.speak("dob")  # a date of birth alone cannot be searched: the agent asks on, no wait
    await pacer.speak("second_factor")
    begun = time.perf_counter()
    try:
        patient_id = await agent.verify(caller["birth_date"], caller["mrn"])
    except CallFailed as exc:
        rec.timed_block("verify", begun, "error", call)
        raise exc
    rec.timed_block("verify", begun, "verified" if patient_id else "not_verified", call)
    if not patient_id:
        raise CallFailed("baseline verification found no single match")
    for tool in TOOLS:
        await pacer.speak(tool)
        begun = time.perf_counter()
        try:
            await agent.tool(tool, patient_id)
        except CallFailed:
            rec.timed_block(tool, begun, "error", call)
            raise
        call.wait_after_verification_ms += rec.timed_block(tool, begun, "ok", call)
    await pacer.speak("end")
    call.ok = True
    return call


async def play(rec: Recorder, calls: int, ramp_s: float, one_call) -> None:
    """Start `calls` calls evenly over `ramp_s` seconds and wait for all of them."""

    async def run(index: int) -> None:
        await asyncio.sleep(index * ramp_s / max(1, calls))
        rec.active += 1
        try:
            result = await one_call(index)
        except CallFailed as exc:
            result = CallResult(failure=str(exc))
        finally:
            rec.active -= 1
        rec.calls.append(result)

    await asyncio.gather(*(run(i) for i in range(calls)))
