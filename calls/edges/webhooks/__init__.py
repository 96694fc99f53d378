"""Webhook adapters for voice platforms: each turns a platform's tool-call request into
calls/registry/run.py runs and the answers into that platform's reply. Same shape per platform:
`parse(request) -> list[PlatformToolCall]` and `reply(answers) -> dict`, plus its own signature check.
"""
