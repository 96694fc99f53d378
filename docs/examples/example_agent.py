"""An example voice agent backend: one whole call against a running gateway, using pending mode and
the call's WebSocket (opened with a ticket from `POST …/ws-ticket`), printing what the agent would say
and when.

Against `make demo` (the key from README, "A call, end to end"; the demo's caller):

    .venv/bin/python docs/examples/example_agent.py --api-key "$KEY" --health-system riverside \\
        --dob 1962-11-10 --ssn-last4 2088 --family-name Thompson --given-name Ralph

Each lookup asks with `?wait=0`: when the data is ready it is spoken at once; otherwise the agent
speaks the gateway's filler and the answer arrives on the socket as `fetch.result` (or `unavailable`).
"""

import argparse
import json
import sys
import time
from pathlib import Path

import httpx
from websockets.sync.client import ClientConnection, connect

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from calls.demo_call import SPOKEN  # noqa: E402  (what the caller says for each identifier)

STARTED = time.monotonic()


def say(who: str, text: str) -> None:
    print(f"[{time.monotonic() - STARTED:6.2f}s] {who}: {text}", flush=True)


def ask(http: httpx.Client, ws: ClientConnection, call: str, tool: str, query: str = "") -> None:
    """One lookup in pending mode: speak the answer now, or the filler and then the socket's answer."""
    body = http.get(f"{call}/{tool}?{query}&wait=0" if query else f"{call}/{tool}?wait=0").json()
    if body["status"] != "pending":
        say("agent", body.get("say", body["status"]))
        return
    say("agent", f"{body['filler']}  (expect ~{body['retry_after_ms']} ms)")
    while True:
        event = json.loads(ws.recv(timeout=15))
        if event["event"] in ("fetch.result", "unavailable") and event.get("tool") == tool:
            say("agent", f"{event.get('say', event['status'])}  ({event['event']})")
            return


def play(base_url: str, api_key: str, health_system: str, caller: dict) -> None:
    headers = {"Authorization": f"Api-Key {api_key}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=15) as http:
        opened = http.post("/api/v1/calls", json={"health_system": health_system}).json()["data"]
        call = f"/api/v1/calls/{opened['call_id']}"
        # The socket is opened with a single-use ticket (60 s), so the key never travels in a URL.
        ticket = http.post(f"{call}/ws-ticket").json()["data"]["ticket"]
        with connect(base_url.replace("http", "ws", 1) + f"/ws/calls/{opened['call_id']}/?ticket={ticket}") as ws:
            say("agent", "Thanks for calling. To protect your privacy, can you confirm a few details?")
            required = opened["verification"]["required"]
            given = {name: caller[SPOKEN[name]] for name in required if caller.get(SPOKEN[name])}
            answer = http.post(f"{call}/verify", json=given, headers={"Idempotency-Key": "turn-1"}).json()
            say("agent", answer["say"])
            if answer["status"] != "verified":
                return
            say("gateway", f"socket: {json.loads(ws.recv(timeout=5))['event']}")
            ask(http, ws, call, "appointments")
            ask(http, ws, call, "appointments", "range=past")
            ask(http, ws, call, "medications")
            say("agent", http.get(f"{call}/transfer", params={"purpose": "clinical"}).json()["say"])
            http.post(f"{call}/end", json={"reason": "caller done"})
            say("gateway", f"socket: {json.loads(ws.recv(timeout=5))['event']}; the call's data is purged")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--health-system", default="riverside")
    parser.add_argument("--dob", required=True, help="the caller's date of birth, YYYY-MM-DD")
    for name in ("mrn", "ssn-last4", "family-name", "given-name"):
        parser.add_argument(f"--{name}", default="", help="give what the health system's policy asks for")
    args = parser.parse_args()
    caller = {"birth_date": args.dob, "mrn": args.mrn, "ssn_last4": args.ssn_last4}
    play(
        args.base_url, args.api_key, args.health_system, caller | {"family": args.family_name, "given": args.given_name}
    )


if __name__ == "__main__":
    main()
