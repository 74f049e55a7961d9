"""cpm's programs (with their rules) and aggregators, beside what DERMS holds of them.

The console reads them through cpm's and DERMS's read APIs, over the hub's connections; a part
that does not answer is said on the page.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from derlink.common.errors import NotFound
from derlink.console.records import fetch
from derlink.console.web import User, console_of, current_user, redirect, render

router = APIRouter()
Filter = Annotated[str, Query(max_length=80)]


def sync_words(sync: dict[str, Any] | None) -> str:
    """Whether DERMS holds the latest version cpm sent, in words."""
    if not sync:
        return "—"
    state, version = sync.get("state"), sync.get("version")
    if state == "Synchronized":
        return f"Synchronized (version {version})"
    if state == "Pending":
        return f"Pending: version {version} sent, DERMS holds version {sync.get('dermsVersion')}"
    if state == "Error":
        return f"Error: {sync.get('detail') or 'DERMS refused version ' + str(version)}"
    return "Never sent"


@router.get("/records/programs")
async def programs(
    request: Request, user: Annotated[User, Depends(current_user)], q: Filter = ""
) -> Response:
    """cpm's programs with their rules count and DERMS sync; "Open" takes a program code."""
    cpm = console_of(request).hub.targets.cpm
    if q.strip():
        return redirect(request, f"/records/programs/{quote(q.strip(), safe='')}")
    listed, problem = await fetch(cpm.get("/api/v1/programs"), "cpm")
    items = list(listed or [])
    rules = await asyncio.gather(
        *(
            fetch(cpm.get(f"/api/v1/programs/{quote(p['programCode'], safe='')}/rules"), "cpm")
            for p in items
        )
    )
    rows = [
        {
            **p,
            "rules": len(found) if found is not None else None,
            "sync": sync_words(p.get("dermsSync")),
        }
        for p, (found, _why) in zip(items, rules, strict=True)
    ]
    return render(
        request,
        "programs.html",
        {"section": "records", "items": rows, "problem": problem},
        user=user,
    )


@router.get("/records/programs/{code}")
async def program(
    request: Request, code: str, user: Annotated[User, Depends(current_user)]
) -> Response:
    targets = console_of(request).hub.targets
    named = quote(code, safe="")
    (found, cpm_problem), (rules, rules_problem), (held, derms_problem) = await asyncio.gather(
        fetch(targets.cpm.get(f"/api/v1/programs/{named}"), "cpm"),
        fetch(targets.cpm.get(f"/api/v1/programs/{named}/rules"), "cpm"),
        fetch(targets.derms.get(f"/api/v1/programs/{named}"), "DERMS"),
    )
    if found is None and cpm_problem == "not found" and held is None:
        raise NotFound(f"neither cpm nor DERMS knows the program {code!r}")
    return render(
        request,
        "program.html",
        {
            "section": "records",
            "code": code,
            "program": found,
            "sync": sync_words((found or {}).get("dermsSync")),
            "rules": rules or [],
            "cpm_problem": "" if cpm_problem == "not found" else cpm_problem or rules_problem,
            "held": held,
            "derms_problem": "" if derms_problem == "not found" else derms_problem,
        },
        user=user,
    )


@router.get("/records/aggregators")
async def aggregators(
    request: Request, user: Annotated[User, Depends(current_user)], program: Filter = ""
) -> Response:
    """cpm's aggregators, narrowed to those serving a program."""
    listed, problem = await fetch(
        console_of(request).hub.targets.cpm.get("/api/v1/aggregators"), "cpm"
    )
    wanted = program.strip()
    rows = [
        {**a, "sync": sync_words(a.get("dermsSync"))}
        for a in listed or []
        if not wanted or wanted in a.get("programs", [])
    ]
    return render(
        request,
        "aggregators.html",
        {"section": "records", "items": rows, "problem": problem, "program": wanted},
        user=user,
    )
