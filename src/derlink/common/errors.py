"""derlink's error tree.

    DerlinkError
    ├── ConfigurationError       a setting or file derlink needs is missing or wrong
    ├── NotFound                 a record the caller named does not exist
    ├── Conflict                 the request collides with the current state
    ├── BusinessError            a coded business rule rejected the request (cpm, derms)
    └── Fault                    an integration fault: technical, remote or business
        ├── TechnicalFault       mapping or data-shape failure: never retried
        ├── RemoteFault          target unreachable, timeout, 5xx, 429: retried with backoff
        └── BusinessFault        the target rejected the data (4xx with a message)

Foreign errors (HTTP client, SQLAlchemy, DBOS) are translated into these where they enter.
"""

from __future__ import annotations

from typing import Any


class DerlinkError(Exception):
    """Base of every error derlink raises on purpose."""

    code: str = "DL-ERROR"

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details

    def __reduce__(self) -> tuple[Any, ...]:
        # Durable execution checkpoints errors by pickling them; rebuild from our own fields.
        return (_rebuild, (type(self), self.message, self.code, self.details))


def _rebuild(
    cls: type[DerlinkError], message: str, code: str, details: dict[str, Any]
) -> DerlinkError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.message = message
    error.code = code
    error.details = details
    for key, value in details.items():
        if not hasattr(error, key):
            setattr(error, key, value)
    return error


class ConfigurationError(DerlinkError):
    code = "DL-CONFIG"


class NotFound(DerlinkError):
    code = "DL-NOT-FOUND"


class Conflict(DerlinkError):
    code = "DL-CONFLICT"


class BusinessError(DerlinkError):
    """A business rule said no. ``code`` is the stable, documented rule code."""

    code = "DL-BUSINESS"


class Fault(DerlinkError):
    """An integration fault. ``category`` is one of technical, remote, business."""

    category = "technical"


class TechnicalFault(Fault):
    category = "technical"
    code = "DL-TECHNICAL"


class RemoteFault(Fault):
    category = "remote"
    code = "DL-REMOTE"


class BusinessFault(Fault):
    category = "business"
    code = "DL-BUSINESS-FAULT"

    def __init__(
        self, message: str, *, status: int, body: Any = None, code: str | None = None
    ) -> None:
        super().__init__(message, code=code, status=status, body=body)
        self.status = status
        self.body = body
