"""Days and times as a person says them, in the health system's time zone: "tomorrow at 3:30 PM",
"Tuesday, December 10th at noon", with the year only when the day is more than half a year away."""

from datetime import datetime

RELATIVE_DAYS = {0: "today", 1: "tomorrow", -1: "yesterday"}
YEAR_AFTER_DAYS = 182  # "Friday, January 2nd" in November is next January; no one says the year


def ordinal(day: int) -> str:
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def spoken_day(moment: datetime, now: datetime, *, on: bool = False) -> str:
    """ "today", "tomorrow", or "(on) Tuesday, December 2nd" (", 2027" when more than half a year away)."""
    offset = (moment.date() - now.date()).days
    if offset in RELATIVE_DAYS:
        return RELATIVE_DAYS[offset]
    day = f"{moment:%A}, {moment:%B} {ordinal(moment.day)}"
    day = f"{day}, {moment.year}" if abs(offset) > YEAR_AFTER_DAYS else day
    return f"on {day}" if on else day


def spoken_clock(moment: datetime) -> str:
    """ "3:30 PM", "9 AM", "noon", "midnight"."""
    if moment.minute == 0 and moment.hour in (0, 12):
        return "noon" if moment.hour == 12 else "midnight"
    hour = moment.hour % 12 or 12
    minutes = f":{moment.minute:02d}" if moment.minute else ""
    return f"{hour}{minutes} {'AM' if moment.hour < 12 else 'PM'}"


def spoken_moment(moment: datetime, now: datetime, *, on: bool = False) -> str:
    return f"{spoken_day(moment, now, on=on)} at {spoken_clock(moment)}"
