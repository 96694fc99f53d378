"""The agent tools, each declared once: inputs, validation, manifest text, the service that answers it.

The REST views, the OpenAPI schema, every manifest format, MCP and the webhook adapters are derived
from calls/registry/definitions.py; calls/registry/run.py runs a tool for any edge.
"""
