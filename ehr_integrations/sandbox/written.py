"""The resources clients created in this sandbox (POST /fhir/Task, /fhir/Communication), in memory."""

import itertools
from datetime import UTC, datetime

WRITE_TYPES = ("Task", "Communication")


class WrittenStore:
    """What clients created, per resource type, in the order written."""

    def __init__(self) -> None:
        self._by_type: dict[str, dict[str, dict]] = {name: {} for name in WRITE_TYPES}
        self._ids = itertools.count(1)

    def add(self, resource: dict) -> dict:
        resource_type = resource["resourceType"]
        stored = dict(resource, id=f"{resource_type.lower()}-w{next(self._ids)}")
        stored["meta"] = {"versionId": "1", "lastUpdated": datetime.now(UTC).isoformat(timespec="milliseconds")}
        self._by_type[resource_type][stored["id"]] = stored
        return stored

    def get(self, resource_type: str, resource_id: str) -> dict | None:
        return self._by_type.get(resource_type, {}).get(resource_id)

    def with_identifier(self, resource_type: str, token: str) -> list[dict]:
        """FHIR token search: `system|value` or a bare value."""
        system, bar, value = token.partition("|")
        if not bar:
            system, value = "", token
        return [
            r
            for r in self._by_type.get(resource_type, {}).values()
            if any(
                i.get("value") == value and (not bar or i.get("system") == system) for i in r.get("identifier") or []
            )
        ]

    def public(self) -> dict:
        return {name: list(items.values()) for name, items in self._by_type.items()}

    def clear(self) -> None:
        for items in self._by_type.values():
            items.clear()
