"""A device's customer unavailability periods in cpm (UNAVAIL): add one, edit or cancel one,
from the forms of a subscription's page, where the device's periods are shown with what DERMS
holds of each.

Each form goes to cpm with the signed-in client's own credentials, so that cpm checks that
client's scope (``cpm:write``) and keeps it as who added or changed the period; cpm's refusal
(the period's rules, a Canceled period, the scope) is said on the page the form was on. A
form's times are local times, read in the utility's zone (``DERLINK_TIME_ZONE``), as the page
says.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from derlink.console import views
from derlink.console.web import (
    Console,
    Refused,
    User,
    act_as_signed_in,
    console_of,
    posting_user,
    records_page,
    redirect,
)

router = APIRouter()

#: Where an answer is said when the form names no page of the console's records.
BACK = "/records/subscriptions"
LocalTime = Annotated[str, Form(max_length=40)]
Back = Annotated[str, Form(max_length=500)]


@dataclass(frozen=True)
class PeriodForm:
    """What the add and edit forms post: local times (read in the utility's zone), a reason,
    and the page to go back to."""

    start: str
    end: str
    reason: str
    back: str

    def body(self, zone: ZoneInfo, *, needed: bool) -> dict[str, Any]:
        """What cpm takes: the times with their offset (None, to keep it, for a time left
        empty, unless ``needed``) and the reason; a ValueError for a time that is none."""
        return {
            "start": _moment(self.start, "From", zone, needed=needed),
            "end": _moment(self.end, "To", zone, needed=needed),
            "reason": self.reason,
        }


def period_form(
    start: LocalTime = "",
    end: LocalTime = "",
    reason: Annotated[str, Form(max_length=254)] = "",
    back: Back = "",
) -> PeriodForm:
    return PeriodForm(start, end, reason.strip(), back)


Period = Annotated[PeriodForm, Depends(period_form)]


@router.post("/records/devices/{device_id}/unavailabilities")
async def add(
    request: Request, device_id: str, user: Annotated[User, Depends(posting_user)], form: Period
) -> Response:
    """Add a period to a device as the signed-in client, its times read in the utility's zone,
    then back to ``form.back`` with what cpm did or why it refused."""
    console = console_of(request)
    page = records_page(form.back, BACK)
    try:
        path = f"/api/v1/devices/{quote(device_id, safe='')}/unavailabilities"
        period = await _cpm(console, user, "POST", path, form.body(console.zone, needed=True))
    except (ValueError, Refused) as exc:
        return redirect(request, page, _refused("add the period", exc), "error")
    start, end = (views.in_zone(period[t], console.zone) for t in ("start", "end"))
    said = f"Unavailability {period['id']} added, {start} to {end}; {_derms(period)}."
    return redirect(request, page, said)


@router.post("/records/unavailabilities/{unavailability_id}/edit")
async def edit(
    request: Request,
    unavailability_id: str,
    user: Annotated[User, Depends(posting_user)],
    form: Period,
) -> Response:
    """Edit a period as the signed-in client (a time left empty is kept), then back to
    ``form.back`` with what cpm did or why it refused."""
    console = console_of(request)
    page = records_page(form.back, BACK)
    try:
        body = form.body(console.zone, needed=False)
        done = await _cpm(console, user, "PATCH", _path(unavailability_id), body)
    except (ValueError, Refused) as exc:
        return redirect(request, page, _refused("change the period", exc), "error")
    if done["outcome"] == "Unchanged":
        said = f"Unavailability {unavailability_id} holds that already: nothing sent to DERMS."
    else:
        said = f"Unavailability {unavailability_id} changed; {_derms(done['unavailability'])}."
    return redirect(request, page, said)


@router.post("/records/unavailabilities/{unavailability_id}/cancel")
async def cancel(
    request: Request,
    unavailability_id: str,
    user: Annotated[User, Depends(posting_user)],
    back: Back = "",
) -> Response:
    """Cancel a period as the signed-in client, then back to ``back`` with what cpm did or why
    it refused."""
    console = console_of(request)
    page = records_page(back, BACK)
    try:
        done = await _cpm(console, user, "POST", f"{_path(unavailability_id)}/cancel")
    except Refused as exc:
        return redirect(request, page, _refused("cancel the period", exc), "error")
    said = f"Unavailability {unavailability_id} canceled; {_derms(done['unavailability'])}."
    return redirect(request, page, said)


def _path(unavailability_id: str) -> str:
    return f"/api/v1/unavailabilities/{quote(unavailability_id, safe='')}"


async def _cpm(console: Console, user: User, method: str, path: str, body: Any = None) -> Any:
    return await act_as_signed_in(console, user, console.hub.targets.cpm, "cpm", method, path, body)


def _moment(value: str, field: str, zone: ZoneInfo, *, needed: bool) -> str | None:
    """A form's local time, read in the utility's zone, as cpm takes it (with its offset);
    None when left empty, unless ``needed``."""
    at = views.from_local(value, f"{field} ({zone})", zone)
    if at is None and needed:
        raise ValueError(f"{field} ({zone}): a date and time is needed")
    return at.isoformat() if at else None


def _refused(action: str, exc: ValueError | Refused) -> str:
    """Why the period was not added or changed: cpm's refusal, or the form's time."""
    if isinstance(exc, Refused):
        return f"cpm refused to {action}: {exc.why}"
    return f"Could not {action}: {exc}"


def _derms(period: dict[str, Any]) -> str:
    return f"DERMS: {period['dermsSync']} (version {period['version']})"
