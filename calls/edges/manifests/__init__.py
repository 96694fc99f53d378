"""Tool manifests for LLM function calling, one module per format, all rendering calls/registry/definitions.py.

Each format module has `render(tools, *, base_url: str, health_system: str | None) -> object`.
"""

from calls.edges.manifests import anthropic, mcp, openai, retell, vapi
from calls.registry import definitions

FORMATS = {"openai": openai, "anthropic": anthropic, "mcp": mcp, "vapi": vapi, "retell": retell}


def manifest(format_name: str, *, base_url: str, health_system: str | None = None) -> object:
    """The tools in one format; raises KeyError for an unknown format."""
    return FORMATS[format_name].render(definitions.TOOLS, base_url=base_url, health_system=health_system)
