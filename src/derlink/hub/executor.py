"""How every flow instance runs, whatever the flow and whatever the engine.

    mark running → the flow's steps → mark completed (and tell the business recipients of
    refused records)
    on a fault (remote after its last retry, technical, or a whole-message rejection):
    mark faulted (the instance is now in the error hospital) → e-mail the technical
    recipients → FAILURE ack to the sender where one is expected

Each bookkeeping write is itself a durable step, so a crash replays none of them twice.
Every step attempt lands on the instance's timeline with its duration.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from derlink.common.errors import BusinessFault, Fault, RemoteFault, TechnicalFault
from derlink.hub.flows import Flow
from derlink.hub.model import FlowOutcome, RecordError
from derlink.hub.notify import Notifier
from derlink.hub.runtime.patience import waiting_for_a_database
from derlink.hub.runtime.port import FlowContext
from derlink.hub.tracking import InstanceStore

T = TypeVar("T")
log = logging.getLogger("derlink.hub")


class TrackedContext:
    """Wraps the engine's context so that every step attempt is written to the timeline."""

    def __init__(self, inner: FlowContext, store: InstanceStore) -> None:
        self.inner = inner
        self.store = store
        self.instance_id = inner.instance_id
        self.last_step = ""

    async def step(self, name: str, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        self.last_step = name
        instance_id = self.instance_id
        store = self.store

        async def timed(*call_args: Any) -> T:
            started = time.perf_counter()
            try:
                result = await fn(*call_args)
            except Exception as exc:
                elapsed = (time.perf_counter() - started) * 1000
                outcome = exc.category if isinstance(exc, Fault) else "error"
                await _on_timeline(store, instance_id, name, f"failed:{outcome}", str(exc), elapsed)
                raise
            elapsed = (time.perf_counter() - started) * 1000
            await _on_timeline(store, instance_id, name, "ok", "", elapsed)
            return result

        return await self.inner.step(name, timed, *args)


async def _on_timeline(
    store: InstanceStore, instance_id: str, step: str, outcome: str, detail: str, elapsed: float
) -> None:
    """Write a step attempt to the timeline; a failed write is logged, never fails the step
    (the timeline tells what happened, the step's own effects are what must happen)."""
    try:
        await asyncio.to_thread(store.event, instance_id, step, outcome, detail, elapsed)
    except Exception as exc:
        log.warning(
            "%s: the %s attempt (%s) is not on the timeline: %s", instance_id, step, outcome, exc
        )


class Executor:
    def __init__(self, flows: Mapping[str, Flow], store: InstanceStore, notifier: Notifier) -> None:
        self.flows = flows
        self.store = store
        self.notifier = notifier

    async def __call__(self, ctx: FlowContext, instance_id: str, message: dict[str, Any]) -> str:
        flow = self.flows[instance_id.split(":", 1)[0]]
        tracked = TrackedContext(ctx, self.store)
        await ctx.step("running", self._running, instance_id)
        try:
            outcome = await flow.run(tracked, message)
        except Fault as fault:
            return await self._fault(ctx, flow, instance_id, message, fault, tracked.last_step)
        except (KeyError, TypeError, ValueError) as exc:
            # A message the flow could not map: a technical fault, never retried.
            mapping = TechnicalFault(f"mapping failed: {type(exc).__name__}: {exc}")
            return await self._fault(ctx, flow, instance_id, message, mapping, tracked.last_step)
        except Exception as exc:
            if waiting_for_a_database(exc):
                # The database stayed away longer than the steps' patience: remote, and in
                # the hospital for a resubmit once it is back.
                unforeseen: Fault = RemoteFault(f"the database is unavailable: {exc}")
            else:
                # Anything else unforeseen stops the instance in the hospital rather than
                # ending its run with the instance left Running.
                unforeseen = TechnicalFault(f"unexpected error: {type(exc).__name__}: {exc}")
            return await self._fault(ctx, flow, instance_id, message, unforeseen, tracked.last_step)
        await ctx.step("completed", self._completed, instance_id, outcome.to_dict())
        if outcome.errors:
            await ctx.step(
                "notify-business",
                self._notify_business,
                flow.spec.code,
                instance_id,
                [e.to_dict() for e in outcome.errors],
            )
        return outcome.status.value

    async def _fault(
        self,
        ctx: FlowContext,
        flow: Flow,
        instance_id: str,
        message: dict[str, Any],
        fault: Fault,
        step: str,
    ) -> str:
        category = fault.category
        if isinstance(fault, BusinessFault):
            # The target refused the whole message: a business fault of the instance.
            category = "business"
        step = str(fault.details.get("step") or step or "start")
        await ctx.step("faulted", self._faulted, instance_id, category, step, fault.message)
        await ctx.step(
            "notify-technical",
            self._notify_technical,
            flow.spec.code,
            instance_id,
            category,
            step,
            fault.message,
        )
        try:
            await flow.on_fault(TrackedContext(ctx, self.store), message, fault)
        except Fault as ack_fault:
            log.error(
                "%s: FAILURE ack for %s not delivered: %s", flow.spec.code, instance_id, ack_fault
            )
        return "Faulted"

    async def _running(self, instance_id: str) -> None:
        await asyncio.to_thread(self.store.running, instance_id)

    async def _completed(self, instance_id: str, outcome: dict[str, Any]) -> None:
        result = FlowOutcome(
            processed=outcome["processed"],
            succeeded=outcome["succeeded"],
            errors=[RecordError(**e) for e in outcome["errors"]],
            notes={
                k: v
                for k, v in outcome.items()
                if k not in ("processed", "succeeded", "failed", "errors")
            },
        )
        await asyncio.to_thread(self.store.completed, instance_id, result)

    async def _faulted(self, instance_id: str, category: str, step: str, message: str) -> None:
        await asyncio.to_thread(
            self.store.faulted, instance_id, category=category, step=step, message=message
        )

    async def _notify_technical(
        self, flow: str, instance_id: str, category: str, step: str, message: str
    ) -> None:
        await self.notifier.technical(
            flow=flow, instance_id=instance_id, category=category, step=step, message=message
        )

    async def _notify_business(
        self, flow: str, instance_id: str, errors: list[dict[str, str]]
    ) -> None:
        await self.notifier.business(
            flow=flow, instance_id=instance_id, errors=[RecordError(**e) for e in errors]
        )
