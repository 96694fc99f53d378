"""The edges: REST views, WebSocket consumer, MCP, webhooks, tool manifests, the envelope and API-key auth.

An edge parses its input and calls one service; only this package touches HTTP."""
