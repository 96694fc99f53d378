"""Agent tools: their definitions, answers (from the session store or live), prefetch, pending mode, follow-ups."""
