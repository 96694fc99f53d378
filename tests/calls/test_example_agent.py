"""The example agent (docs/examples/example_agent.py) plays a whole call against a running gateway."""

import importlib.util
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "example_agent.py"


def test_the_example_agent_plays_a_call_with_fillers_and_socket_results(
    gateway, agent, patient, sandbox, capsys, monkeypatch
):
    spec = importlib.util.spec_from_file_location("example_agent", EXAMPLE)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    sockets, connect = [], example.connect
    monkeypatch.setattr(example, "connect", lambda url, **options: sockets.append(url) or connect(url, **options))
    sandbox.add_fault("/fhir/Appointment*", latency_ms=800, after_s=1.0)  # past visits are slow
    example.play(gateway.url, agent.api_key, "riverside", patient)
    spoken = capsys.readouterr().out
    assert "Thank you, I've confirmed your identity." in spoken
    assert "(fetch.result)" in spoken and "expect ~" in spoken
    assert "the call's data is purged" in spoken
    assert patient["mrn"] not in spoken
    assert len(sockets) == 1 and "/?ticket=" in sockets[0] and agent.api_key not in sockets[0]  # no key in a URL
