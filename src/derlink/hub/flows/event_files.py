"""What the two flows of DERMS's event files share (EVT-RESERVE, EVT-OUTCOME): one message names
one file on DERMS's content server; the file goes through the record-file machinery
(``files.py``), and one MsgAck goes back to DERMS at the end, SUCCESS or the counts and the
first refusals, or FAILURE after a fault of the whole file."""

from __future__ import annotations

from typing import Any, ClassVar

from derlink.common.clock import Clock
from derlink.common.errors import Fault
from derlink.contracts.acks import RESPONSE_SUCCESS, AckType
from derlink.hub.flows.files import RecordFileFlow
from derlink.hub.model import FlowOutcome, msg_ack
from derlink.hub.runtime.port import FlowContext

Record = dict[str, Any]

#: Refusals named in the acknowledgement to DERMS (the instance keeps up to 1,000).
ACK_ERRORS = 5


class EventFileFlow(RecordFileFlow):
    """A message-triggered record-file flow over one of DERMS's event files."""

    #: DERMS's acknowledgement service of the flow's files.
    ack_path: ClassVar[str]
    #: The acknowledgement's code when cpm did not take every row.
    refused_code: ClassVar[str]
    #: How the acknowledgement names the rows taken and those taken before.
    taken: ClassVar[str]
    taken_before: ClassVar[str]
    #: What the acknowledgement says after the counts ("" for nothing).
    also: ClassVar[str] = ""

    def __init__(self, *, clock: Clock, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.clock = clock

    async def before(self, ctx: FlowContext, record: Record) -> None:
        """The flow's steps before the file (none by default)."""

    async def run(self, ctx: FlowContext, message: Record) -> FlowOutcome:
        [record] = message[self.spec.field]
        await self.before(ctx, record)
        outcome = await super().run(ctx, file_message(record))
        await ctx.step("ack-derms", self._ack_outcome, record["messageId"], outcome.to_dict())
        return outcome

    async def _ack_outcome(self, message_id: str, outcome: Record) -> None:
        errors = outcome.get("errors") or []
        said = (
            f"{outcome.get('succeeded', 0)} {self.taken}, {outcome.get('duplicates', 0)} "
            f"{self.taken_before}, {len(errors)} refused{self.also}"
        )
        if outcome.get("duplicateOf"):
            said = f"the same file was taken already by {outcome['duplicateOf']}"
        if errors:
            said += ": " + "; ".join(
                f"{e['key']} {e['code']}: {e['message']}" for e in errors[:ACK_ERRORS]
            )
        code = RESPONSE_SUCCESS if not errors else self.refused_code
        ack = msg_ack(
            AckType.SUCCESS if not errors else AckType.ERROR,
            self.clock.now(),
            [{"id": message_id, "dacsMessageId": message_id, "value": said[:4000],
              "responseCode": code}],
        )  # fmt: skip
        await self._ack(ack)

    async def _ack(self, ack: Record) -> None:
        await self.targets.derms.post(self.ack_path, ack)

    async def on_fault(self, ctx: FlowContext, message: Record, fault: Fault) -> None:
        """The file set aside as the file flows do (kept for a resubmit after a remote fault),
        and a FAILURE ack to DERMS."""
        [record] = message[self.spec.field]
        await super().on_fault(ctx, file_message(record), fault)
        ack = msg_ack(
            AckType.FAILURE,
            self.clock.now(),
            [{"id": record["messageId"], "dacsMessageId": record["messageId"],
              "value": fault.message[:4000], "responseCode": "FAILURE"}],
        )  # fmt: skip
        await ctx.step("failure-ack-derms", self._ack, ack)


def file_message(record: Record) -> Record:
    """The file machinery's message of an event file's record."""
    return {"files": [{"fileName": record["fileName"], "size": record["size"]}]}
