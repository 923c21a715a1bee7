"""Process pools that are safe to start from any process, threaded or not.

fork starts a process at once, with everything loaded; but a process with other threads
(a host application's, a server's, another pool's) may be forked while one of them holds
a lock, which the new process would then wait on forever. Such a process starts its
pools' processes from a fork server instead, which imports `preload` once.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any


def start_method() -> str:
    """fork when this process runs one thread, else forkserver."""
    return "fork" if threading.active_count() == 1 else "forkserver"


def process_pool(
    jobs: int,
    preload: Sequence[str] = (),
    initializer: Callable[..., None] | None = None,
    initargs: tuple[Any, ...] = (),
) -> ProcessPoolExecutor:
    """A pool of `jobs` processes started the safe way (`start_method`); `initializer`
    and its arguments go to each process (pickled, from a fork server)."""
    method = start_method()
    context = multiprocessing.get_context(method)
    if method == "forkserver" and preload:
        context.set_forkserver_preload(list(preload))
    return ProcessPoolExecutor(jobs, mp_context=context, initializer=initializer, initargs=initargs)
