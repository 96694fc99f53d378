"""Pure functions from FHIR resource dicts to the flat objects of ehr_integrations.normalize.flat.

They never raise on malformed input (missing or odd data comes out as None), never guess, and
never do I/O: included and already-read resources come in as `known` ("Type/id" -> resource).
"""
