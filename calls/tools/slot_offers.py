"""Free times to offer a caller (`GET /api/v1/calls/{call_id}/slots`, issue 22): at most three, spoken in the
site's time zone, within the site's rules (visit type allowed for this caller, lead time, horizon,
providers). A visit type the rules do not allow, or a site whose server offers no scheduling path,
is handed to the scheduling desk without asking the EHR. Each offer is remembered in the call's
session store under its handle, for booking.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from calls.models import CallSession
from calls.outcomes import Data, InvalidInput, Unavailable
from calls.session.access_log import AuditContext
from calls.tools import confirmations
from calls.tools import scheduling_calls as sc
from ehr_integrations.errors import EHRError
from ehr_integrations.normalize.spoken import number
from ehr_integrations.presets.scheduling_rules import Provider, Rules, VisitType
from ehr_integrations.scheduling import operations
from ehr_integrations.scheduling.free_slots import FreeSlot, free_slots
from ehr_integrations.scheduling.routes import OPERATIONS

OFFERED = 3
UNAVAILABLE_SAY = "I'm not able to check the schedule right now. I can connect you with scheduling."

OFFER_MARGIN = timedelta(seconds=confirmations.LIFETIME_S)  # read-back to yes


NARROWED_BY = ("provider", "after", "before")  # what a caller may narrow a search by, kept with each offer


@dataclass(frozen=True)
class Search:
    visit_type: VisitType
    providers: tuple[Provider, ...]
    after: datetime
    before: datetime
    asked: Mapping[str, str]  # the caller's narrowing (a provider handle, days), for `search_again`


def _day_start(day: date, call: CallSession) -> datetime:
    return datetime.combine(day, time(0), sc.zone(call))


def search_for(call: CallSession, rules: Rules, values: Mapping[str, object]) -> Search:
    """What to search: raises Escalate (not bookable by phone) or InvalidInput (a provider handle unknown)."""
    visit_type = rules.visit_types.get(str(values.get("visit_type") or ""))
    if visit_type is None or not rules.bookable(visit_type):
        raise sc.to_scheduling(call)
    providers = rules.providers_for(visit_type)
    if values.get("provider"):
        providers = tuple(p for p in providers if sc.handle(call, "pv", p.practitioner) == values["provider"])
        if not providers:
            raise InvalidInput({"provider": "must be a provider_id from an earlier slots answer"})
    now = timezone.now()
    # An offer stays bookable while the caller hears it and says yes: the lead time plus a confirmation's
    # life, so a time at the lead time's edge is not offered only to be "too soon" at the read-back.
    soonest = now + rules.lead_time + OFFER_MARGIN
    after = max(soonest, _day_start(values["after"], call) if values.get("after") else now)
    before = now + rules.horizon
    if values.get("before") and _day_start(values["before"], call) < before:  # else the horizon bounds it
        before = min(before, _day_start(values["before"] + timedelta(days=1), call))
    asked = {name: str(values[name]) for name in NARROWED_BY if values.get(name)}  # a date as YYYY-MM-DD
    return Search(visit_type, providers, after, before, asked)


def search_again(call: CallSession, rules: Rules, plan: Mapping[str, object]) -> Search:
    """The search an offer came from, made now (its time was taken meanwhile): the same visit type,
    provider and days the caller asked for, within today's lead time and horizon; any provider of
    the visit type when the one asked for no longer offers it."""
    asked = plan.get("asked") if isinstance(plan.get("asked"), Mapping) else {}
    values: dict[str, object] = {"visit_type": plan["visit_type"]}
    for name in NARROWED_BY:
        said = str(asked.get(name) or "")
        try:
            values[name] = said if name == "provider" else date.fromisoformat(said)
        except ValueError:
            continue  # not a day (nothing asked): the horizon bounds it
    try:
        return search_for(call, rules, values)
    except InvalidInput:
        return search_for(call, rules, {name: value for name, value in values.items() if name != "provider"})


def _offer(call: CallSession, slot: FreeSlot, search: Search) -> tuple[str, dict]:
    offer_id = sc.handle(call, "of", slot.slot_id)
    plan = {
        "slot": slot.slot_id,
        "start": slot.start.isoformat(),
        "practitioner": slot.provider.practitioner,
        "provider_name": slot.provider.name,
        "location": slot.provider.location,
        "visit_type": search.visit_type.name,
        "asked": dict(search.asked),
    }
    return offer_id, plan


def shape(call: CallSession, offer_id: str, plan: Mapping[str, object]) -> dict:
    """An offer as the agent sees it (handles, never EHR ids)."""
    start = datetime.fromisoformat(str(plan["start"]))
    return {
        "id": offer_id,
        "datetime": start.astimezone(sc.zone(call)).isoformat(),
        "provider_id": sc.handle(call, "pv", str(plan["practitioner"])),
        "provider_name": plan["provider_name"],
        "location": plan["location"] or None,
        "visit_type": plan["visit_type"],
    }


def _with_whom(plan: Mapping[str, object]) -> str:
    return f" with {plan['provider_name']}" + (f" at {plan['location']}" if plan["location"] else "")


def spoken_offer(call: CallSession, plan: Mapping[str, object]) -> str:
    """ "tomorrow at 9 AM with Dr. Anita Patel at Main Street Clinic"."""
    return sc.when(call, datetime.fromisoformat(str(plan["start"]))) + _with_whom(plan)


def either(spoken: list[str]) -> str:
    return spoken[0] if len(spoken) == 1 else ", ".join(spoken[:-1]) + ", or " + spoken[-1]


def spoken_offers(call: CallSession, plans: list[dict]) -> str:
    """The offers as one list; the clinician and place said once when every offer shares them."""
    if len({_with_whom(p) for p in plans}) == 1:
        return either([sc.when(call, datetime.fromisoformat(str(p["start"]))) for p in plans]) + _with_whom(plans[0])
    return either([spoken_offer(call, p) for p in plans])


def say_offers(call: CallSession, plans: list[dict], search: Search) -> str:
    what = sc.a(search.visit_type.label)
    if not plans:
        return f"I don't see any open times for {what} then. Would another day work?"
    if len(plans) == 1:
        return f"I have one opening for {what}: {spoken_offers(call, plans)}. Would that work?"
    return f"I have {number(len(plans))} openings for {what}: {spoken_offers(call, plans)}. Which works best for you?"


def find(call: CallSession, context: AuditContext, patient_id: str, search: Search) -> list[dict]:
    """Up to three offers (plans), remembered under their handles; raises Escalate or Unavailable."""
    if search.after >= search.before:
        return []

    site = sc.site(call)

    async def work() -> list[FreeSlot] | None:
        route = await site.route()
        if route.kind == OPERATIONS:
            return await operations.find(
                site.stu3, search.providers, search.visit_type, patient_id=patient_id, after=search.after,
                before=search.before, deadline=site.deadline,
            )  # fmt: skip
        if not route.to_ehr:
            return None
        return await free_slots(
            site.client, search.providers, search.visit_type, after=search.after, before=search.before,
            deadline=site.deadline,
        )  # fmt: skip

    try:
        slots = sc.run(call, work())
    except (EHRError, TimeoutError):
        sc.AUDIT.record(call, context, patient_id, action="read", outcome="unavailable")
        raise Unavailable(
            reason="ehr_unavailable", transfer=sc.scheduling_transfer(call), say=UNAVAILABLE_SAY
        ) from None
    if slots is None:
        raise sc.to_scheduling(call, sc.NOT_HERE_SAY)
    chosen: list[FreeSlot] = []
    for slot in slots:
        if len(chosen) < OFFERED and all(slot.start != c.start for c in chosen):
            chosen.append(slot)
    offers = dict(_offer(call, slot, search) for slot in chosen)
    sc.AUDIT.record(
        call, context, patient_id, action="read", outcome="success", ids=[f"Slot/{s.slot_id}" for s in chosen]
    )
    sc.remember(call, sc.OFFERS, offers)
    return [{"id": offer_id, **plan} for offer_id, plan in offers.items()]


def answer(*, call: CallSession, values: Mapping[str, object], context: AuditContext) -> Data:
    """The slots tool: three speakable offers, or a hand-off to scheduling."""
    patient_id = sc.verified_patient(call, context)
    search = search_for(call, sc.site_rules(call), values)
    plans = find(call, context, patient_id, search)
    data = [shape(call, plan["id"], plan) for plan in plans]
    return Data(data=data, source="live", say=say_offers(call, plans, search))
