"""Onboarding: configuration as code, Test connection, mapping previews."""
