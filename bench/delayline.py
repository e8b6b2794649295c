#!/usr/bin/env python3
"""delayline.py N DELAY_MS FRONT_NET BACK_NET [PORT=22]: for K in 1..N, listen on
FRONT_NET.K:PORT and forward to BACK_NET.K:PORT, holding every chunk DELAY_MS before passing it
on, both ways (so the round trip gains 2 x DELAY_MS), order kept, pipelined. This kernel has no
netem; a user-space delay line is the way to give loopback hosts a WAN's latency. Loopback
addresses only (both nets must be 127.x.y)."""
import asyncio
import sys
import time

n, delay = int(sys.argv[1]), float(sys.argv[2]) / 1000
front, back = sys.argv[3], sys.argv[4]
port = int(sys.argv[5]) if len(sys.argv) > 5 else 22
if not (front.startswith("127.") and back.startswith("127.")):
    sys.exit("delayline.py: loopback addresses only")


async def carry(reader, writer):
    queue = asyncio.Queue()

    async def deliver():
        while True:
            due, chunk = await queue.get()
            if chunk is None:
                break
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(chunk)
            await writer.drain()
        writer.close()

    task = asyncio.create_task(deliver())
    try:
        while chunk := await reader.read(65536):
            queue.put_nowait((time.monotonic() + delay, chunk))
    except ConnectionError:
        pass
    queue.put_nowait((0, None))
    await task


def handler(k):
    async def handle(client_r, client_w):
        try:
            server_r, server_w = await asyncio.open_connection(f"{back}.{k}", port)
        except OSError:
            client_w.close()
            return
        await asyncio.gather(carry(client_r, server_w), carry(server_r, client_w), return_exceptions=True)
    return handle


async def main():
    servers = [await asyncio.start_server(handler(k), f"{front}.{k}", port, backlog=1024) for k in range(1, n + 1)]
    print(f"{n} delay lines up ({delay * 1000:.0f} ms each way)", flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))

asyncio.run(main())
