"""The sandbox EHR: a FHIR R4 server with SMART backend auth, vendor flavours, synthetic patients and faults.

It runs as its own process (`manage.py run_sandbox_ehr`), keeps everything in memory and never
touches the gateway's database. See docs/sandbox.md.
"""
