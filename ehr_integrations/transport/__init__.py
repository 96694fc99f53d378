"""Outbound HTTP to an EHR and what guards it: the I/O loop, breakers, Retry-After, shared and local caches."""
