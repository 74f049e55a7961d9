"""The acknowledgement vocabulary every side of the enrollment flows speaks.

The MsgAck envelope's ``ackType``, a response's success code, the head-end registrations of
postAcknowledgement, and Oracle's "already exists" message number.
"""

from __future__ import annotations

from enum import StrEnum


class AckType(StrEnum):
    """``MsgAck.ackType``."""

    #: Every record fine.
    SUCCESS = "SUCCESS"
    #: Some records failed on business grounds.
    ERROR = "ERROR"
    #: A technical failure of the whole message.
    FAILURE = "FAILURE"


#: ``responseCode`` of a MsgAck response for a record that went through.
RESPONSE_SUCCESS = "SUCCESS"


class HeadEndRegistration(StrEnum):
    """Oracle's head-end registration values (postAcknowledgement)."""

    REGISTERED = "D1RE"
    NOT_REGISTERED = "D1NR"
    DEREGISTERED = "D1DR"


#: Oracle message number "enrollment request already exists": counts as success.
ALREADY_EXISTS = "10589"
