"""A TCP proxy in front of the static index that models the distance to a public index.

``delay`` mode holds every chunk a client sends for ``--delay`` seconds before passing it on
(a request, being one chunk, reaches the server ~40 ms late: one round trip), and passes
answers back at once. ``hang`` mode accepts connections, reads what is sent and never answers:
a firewall that drops packets. Run as a script::

    python bench/delay_proxy.py --listen PORT --target PORT [--delay 0.04] [--mode hang]

It counts connections and prints nothing; SIGTERM stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

CHUNK = 256 * 1024


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    try:
        while data := await reader.read(CHUNK):
            if delay:
                await asyncio.sleep(delay)
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(ConnectionError, OSError, RuntimeError):
            writer.close()


async def _forward(
    client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter, target: int, delay: float
) -> None:
    try:
        server_reader, server_writer = await asyncio.open_connection("127.0.0.1", target)
    except OSError:
        client_writer.close()
        return
    await asyncio.gather(
        _pipe(client_reader, server_writer, delay),
        _pipe(server_reader, client_writer, 0.0),
    )


async def _swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while await reader.read(CHUNK):
            pass
    writer.close()


async def serve(listen: int, target: int, delay: float, mode: str) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if mode == "hang":
            await _swallow(reader, writer)
        else:
            await _forward(reader, writer, target, delay)

    server = await asyncio.start_server(handle, "127.0.0.1", listen, reuse_address=True, backlog=512)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listen", type=int, required=True)
    parser.add_argument("--target", type=int, required=True)
    parser.add_argument("--delay", type=float, default=0.04)
    parser.add_argument("--mode", choices=("delay", "hang"), default="delay")
    args = parser.parse_args()
    asyncio.run(serve(args.listen, args.target, args.delay, args.mode))


if __name__ == "__main__":
    main()
