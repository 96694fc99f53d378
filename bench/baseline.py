"""What a team writes without the gateway: agent tools that call the FHIR server directly.

Every tool call fetches a token and makes its searches (the same searches, with the same _include,
as the gateway's generic preset, concurrently within a tool); nothing is cached or prefetched.
Reference reads are left out, which flatters the baseline.
"""

import asyncio
from datetime import UTC, datetime

import httpx

from bench.recorder import CallFailed
from bench.world import SCOPES


class DirectFhirAgent:
    def __init__(self, http: httpx.AsyncClient, *, base_url: str, client_id: str, secret: str) -> None:
        self.http = http
        self.fhir = base_url + "/fhir"
        self.token_url = base_url + "/oauth2/token"
        self.auth = (client_id, secret)

    async def _token(self) -> str:
        response = await self.http.post(
            self.token_url, data={"grant_type": "client_credentials", "scope": SCOPES}, auth=self.auth
        )
        if response.status_code != 200:
            raise CallFailed(f"token: http {response.status_code}")
        return response.json()["access_token"]

    async def _search(self, token: str, resource_type: str, params: dict) -> list[dict]:
        response = await self.http.get(
            f"{self.fhir}/{resource_type}",
            params=params,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/fhir+json"},
        )
        if response.status_code != 200:
            raise CallFailed(f"{resource_type}: http {response.status_code}")
        return [entry["resource"] for entry in response.json().get("entry", [])]

    async def verify(self, birth_date: str, mrn: str) -> str | None:
        """The patient id if exactly one patient has this MRN and birth date."""
        token = await self._token()
        found = await self._search(token, "Patient", {"identifier": mrn})
        matches = [p for p in found if p.get("resourceType") == "Patient" and p.get("birthDate") == birth_date]
        return matches[0]["id"] if len(matches) == 1 else None

    async def tool(self, tool: str, patient_id: str) -> list[dict]:
        token = await self._token()
        if tool == "appointments":
            now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            params = {"patient": patient_id, "date": f"ge{now}", "_include": "Appointment:actor"}
            return await self._search(token, "Appointment", params)
        if tool == "medications":
            includes = ["MedicationRequest:medication", "MedicationRequest:requester"]
            requests, dispenses = await asyncio.gather(
                self._search(
                    token, "MedicationRequest", {"patient": patient_id, "status": "active", "_include": includes}
                ),
                self._search(token, "MedicationDispense", {"patient": patient_id}),
            )
            return requests + dispenses
        params = {"subject": f"Patient/{patient_id}", "_include": "Communication:sender"}
        return await self._search(token, "Communication", params)
