"""SMART Backend Services: discovery, client assertions, signing keys, the shared token cache, scopes."""
