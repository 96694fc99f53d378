"""Talking FHIR to one health system: the client, record fetchers, patient search."""
