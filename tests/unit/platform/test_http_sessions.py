"""An HTTP client closes every session it opened, whatever loop opened it: a session left
open warns (ResourceWarning) when it is collected, which the gate treats as an error."""

from __future__ import annotations

import asyncio
import gc
import threading

import anyio.from_thread

from derlink.platform.http import Connection, HttpClient


def client() -> HttpClient:
    return HttpClient(Connection(name="x", base_url="http://127.0.0.1:9", username="u", secret="s"))


def test_a_session_of_a_loop_that_has_ended_is_closed_from_another_loop():
    http = client()
    ended = asyncio.new_event_loop()
    session = ended.run_until_complete(http._session_())
    ended.close()

    asyncio.run(http.close())

    assert session.closed
    del session
    gc.collect()


def test_a_session_of_a_loop_running_in_another_thread_is_closed_on_that_loop():
    http = client()
    other = asyncio.new_event_loop()
    thread = threading.Thread(target=other.run_forever, daemon=True)
    thread.start()
    try:
        session = asyncio.run_coroutine_threadsafe(http._session_(), other).result(5)
        asyncio.run(http.close())
        assert session.closed
    finally:
        other.call_soon_threadsafe(other.stop)
        thread.join(5)
        other.close()


def test_a_session_is_closed_when_its_loop_ends_though_nobody_closed_the_client():
    http = client()
    session = asyncio.run(http._session_())
    assert session.closed
    asyncio.run(http.close())  # nothing left to close: no error either


def test_a_session_of_a_test_client_s_portal_is_closed_when_the_portal_ends():
    http = client()
    with anyio.from_thread.start_blocking_portal() as portal:
        session = portal.call(http._session_)
        assert not session.closed
    assert session.closed


def test_a_client_closed_on_its_loop_opens_a_new_session_when_used_again():
    http = client()

    async def twice() -> tuple[bool, bool]:
        first = await http._session_()
        await http.close()
        second = await http._session_()
        await http.close()
        return first.closed and second.closed, first is not second

    assert asyncio.run(twice()) == (True, True)
