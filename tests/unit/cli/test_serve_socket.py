"""The socket ``derlink up`` listens on hands out connections with Nagle's algorithm off: with
it on, a response written in two parts waited for the client's delayed acknowledgement, some
40 ms on every call of a kept-alive connection (the console, the hub's calls to the parts)."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

from derlink.cli.serve import claimed
from derlink.platform.settings import Settings


async def _nodelay_of_a_connection(listening: socket.socket) -> int:
    seen: list[int] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(
            writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        )
        writer.close()

    server = await asyncio.start_server(accept, sock=listening)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", listening.getsockname()[1])
        await reader.read()
        writer.close()
    finally:
        server.close()
        await server.wait_closed()
    return seen[0]


def test_the_connections_of_the_listening_socket_have_nagle_off(tmp_path: Path):
    settings = Settings(home=tmp_path, host="127.0.0.1", port=0)
    with claimed(settings, ["hub"]) as listening:
        assert listening.proto == socket.IPPROTO_TCP
        assert asyncio.run(_nodelay_of_a_connection(listening)) != 0
