"""A separate OS process that appends to the log: ``python -m tests.ledger.appender``.

Arguments: DATABASE_URL DATA_DIR ORIGIN BATCHES BATCH_SIZE TAG. Prints ``started`` when its first
transaction is under way and ``done`` at the end.
"""

from __future__ import annotations

import asyncio
import sys

from ledger.leaf import leaf_body
from service.runtime import open_runtime
from service.settings import load_settings


async def main(url: str, data_dir: str, origin: str, batches: int, size: int, tag: str) -> None:
    runtime = await open_runtime(
        load_settings(database_url=url, data_dir=data_dir, log_origin=origin)
    )
    try:
        for batch in range(batches):
            entries = [
                ("observation", leaf_body("observation", {"tag": tag, "batch": batch, "i": i}))
                for i in range(size)
            ]
            async with runtime.write_sessions() as session, session.begin():
                print("started", flush=True)
                await runtime.log.append(session, entries)
    finally:
        await runtime.close()
    print("done", flush=True)


if __name__ == "__main__":
    url, data_dir, origin, batches, size, tag = sys.argv[1:7]
    asyncio.run(main(url, data_dir, origin, int(batches), int(size), tag))
