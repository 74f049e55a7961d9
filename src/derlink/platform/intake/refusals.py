"""What a lister does with the entries it cannot take: set each aside once, report it once.

A listing (``FileStore.scan``) names the entries under a flow's prefix that are not regular
files (links, folders, pipes) or whose names are not allowed; :func:`takeable` adds the files
whose names leave no room for what a taker renames them to (names.TAKEN_NAME_MAX). None of
them is ever opened. :class:`Refusals` renames each one ``Error-<its name made safe>`` (the
entry itself, never what a link points at), so that the next listing no longer sees it, logs
it once and tells the technical recipients once (:class:`RefusalReport`). An entry that cannot
be set aside (the store refuses the rename) is reported once as such, and passed over in
silence by this process from then on.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Protocol

from derlink.common.errors import DerlinkError
from derlink.platform.files import FileInfo, FileMissing, FileStore, Listing, Refused, shown
from derlink.platform.intake.names import ERROR_TAG, TAKEN_NAME_MAX, free_name
from derlink.platform.mail import Mailer

log = logging.getLogger("derlink.intake")

_UNSAFE = re.compile(r"[^A-Za-z0-9._@+=,-]|\.\.+")


def takeable(listing: Listing) -> tuple[list[FileInfo], list[Refused]]:
    """The listed files a taker can take, and the refused entries with the files whose names
    are too long to take."""
    files = [f for f in listing.files if len(f.name) <= TAKEN_NAME_MAX]
    refused = list(listing.refused)
    refused += [
        Refused(
            f.name,
            f"a name of {len(f.name)} characters: a file taken has at most {TAKEN_NAME_MAX}, "
            "to leave room for what it is renamed to",
        )
        for f in listing.files
        if len(f.name) > TAKEN_NAME_MAX
    ]
    return files, refused


def aside_name(entry: str) -> str:
    """``Error-`` and the entry's name made safe: what it is set aside as (``.2``… if taken)."""
    return ERROR_TAG + _UNSAFE.sub("_", entry)[:TAKEN_NAME_MAX]


class RefusalReport(Protocol):
    """Who is told of an entry set aside: the technical recipients."""

    async def refused(
        self, *, source: str, location: str, entry: str, reason: str, renamed: str | None
    ) -> None:
        """``entry`` (shown safely) of ``location`` was refused for ``reason`` and set aside
        as ``renamed`` (None: it could not be)."""


def refusal_mail(
    *, source: str, location: str, entry: str, reason: str, renamed: str | None
) -> tuple[str, str]:
    """The subject and body of the e-mail that reports an entry set aside."""
    where = (
        f"Set aside as: {renamed}\n"
        if renamed
        else "It could not be set aside (see the log); it is not reported again.\n"
    )
    return (
        f"[derlink] {source}: an entry of {location} was set aside, not taken",
        f"Flow: {source}\nStore: {location}\nEntry: '{shown(entry)}'\nRefused: {reason}\n"
        + where
        + "\nNothing of it was read. A file to take must be a regular file (no link, folder or "
        f"pipe) under a flat name of letters, digits and ._@+=,- of at most {TAKEN_NAME_MAX} "
        "characters: deliver it again that way, or remove what was set aside.\n",
    )


class MailRefusals:
    """Reports entries set aside by e-mail to fixed recipients (a part's technical contact)."""

    def __init__(self, mailer: Mailer, to: Sequence[str]) -> None:
        self.mailer = mailer
        self.to = list(to)

    async def refused(
        self, *, source: str, location: str, entry: str, reason: str, renamed: str | None
    ) -> None:
        subject, body = refusal_mail(
            source=source, location=location, entry=entry, reason=reason, renamed=renamed
        )
        try:
            await self.mailer.send(to=self.to, subject=subject, body=body)
        except (DerlinkError, OSError) as exc:
            log.error("notification %r not sent: %s", subject, exc)


class Refusals:
    """Sets the refused entries of one store aside and reports each one once."""

    def __init__(self, store: FileStore, source: str, report: RefusalReport | None) -> None:
        self.store = store
        self.source = source
        self.report = report
        #: Entries this process could not set aside, reported already.
        self._stuck: set[tuple[str, str]] = set()

    async def _set_aside(self, entry: str) -> str:
        async def move(target: str) -> None:
            await self.store.set_aside(entry, target)

        return await free_name(move, aside_name(entry))

    async def handle(self, refused: Sequence[Refused]) -> None:
        for entry in refused:
            if (entry.entry, entry.reason) in self._stuck:
                continue
            location = self.store.location
            try:
                renamed: str | None = await self._set_aside(entry.entry)
            except FileMissing:
                continue  # gone meanwhile, or set aside by another lister
            except (DerlinkError, OSError) as exc:
                self._stuck.add((entry.entry, entry.reason))
                log.error(
                    "%s: '%s' in %s is %s and could not be set aside: %s",
                    self.source,
                    shown(entry.entry),
                    location,
                    entry.reason,
                    exc,
                )
                renamed = None
            else:
                log.warning(
                    "%s: '%s' in %s is %s: set aside as %s, not taken",
                    self.source,
                    shown(entry.entry),
                    location,
                    entry.reason,
                    renamed,
                )
            if self.report is not None:
                await self.report.refused(
                    source=self.source,
                    location=location,
                    entry=entry.entry,
                    reason=entry.reason,
                    renamed=renamed,
                )
