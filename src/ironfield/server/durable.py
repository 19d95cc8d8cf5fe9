"""Wait until everything the pipeline has accepted so far is in the historian."""

from __future__ import annotations

import asyncio
import contextlib

from ironfield.runtime.platform import Platform


async def settle(platform: Platform) -> None:
    """Flush the pipeline and wait for a write that is already in flight.

    ``Pipeline.flush`` returns at once when nothing is pending, even while the writer loop's
    own flush is still committing in the writer thread; a replay read right after would
    miss those rows. The writer is a one-thread executor, so a no-op queued behind it
    returns only once every earlier write has committed.
    """
    p = platform.pipeline
    if p is None:
        return
    with contextlib.suppress(Exception):
        await p.flush()
    executor = getattr(p, "_executor", None)
    if executor is not None:
        with contextlib.suppress(RuntimeError):  # shut down: nothing in flight any more
            await asyncio.get_running_loop().run_in_executor(executor, lambda: None)
