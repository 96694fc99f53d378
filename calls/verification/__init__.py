"""Caller verification: one turn at a time, the factor sets a policy accepts, attempt limits."""
