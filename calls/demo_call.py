"""A scripted call played against a running gateway, the way a voice agent backend would."""

import time
from typing import TextIO

import httpx

# What the caller says for each identifier the gateway asks for (keys of the sandbox ground truth).
SPOKEN = {
    "date_of_birth": "birth_date",
    "mrn": "mrn",
    "ssn_last4": "ssn_last4",
    "family_name": "family",
    "given_name": "given",
    "phone": "phone",
}


def play(*, base_url: str, api_key: str, caller: dict, health_system: str, out: TextIO) -> None:
    started = time.monotonic()

    def say(who: str, text: str) -> None:
        out.write(f"[{time.monotonic() - started:6.2f}s] {who}: {text}\n")
        out.flush()

    with httpx.Client(base_url=base_url, headers={"Authorization": f"Api-Key {api_key}"}, timeout=15) as http:
        opened = http.post("/api/v1/calls", json={"health_system": health_system}).json()["data"]
        call = f"/api/v1/calls/{opened['call_id']}"
        missing = opened["verification"]["required"]
        say("agent", "Thanks for calling. Can you tell me your date of birth?")
        answer = http.post(f"{call}/verify", json={"date_of_birth": caller["birth_date"]}).json()
        say("gateway", f"{answer['status']} {answer.get('missing', '')}")
        while answer["status"] == "needs_more":
            missing = answer["missing"]
            given = {name: caller[SPOKEN[name]] for name in missing}
            say("agent", f"Thanks. And your {', '.join(n.replace('_', ' ') for n in missing)}?")
            answer = http.post(f"{call}/verify", json=given).json()
        say("agent", answer["say"])
        if answer["status"] != "verified":
            return
        time.sleep(1.0)  # the caller is talking; prefetch runs meanwhile
        for tool in ("appointments", "medications", "messages"):
            t0 = time.monotonic()
            body = http.get(f"{call}/{tool}").json()
            took = (time.monotonic() - t0) * 1000
            say("agent", f"{body.get('say')}  ({tool}: {body['status']}, {body.get('source')}, {took:.0f} ms)")
        routed = http.get(f"{call}/transfer", params={"purpose": "clinical"}).json()
        say("agent", routed["say"])
        http.post(f"{call}/end", json={"reason": "demo finished"})
        say("gateway", "call ended; its data is purged")
