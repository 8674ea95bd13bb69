"""Work in a thread of ours whose failure is raised in the caller's thread, once the caller
waits for it (the store's loads: ``kg.store.GraphLoader``, ``kg.pipeline``)."""

from __future__ import annotations

import threading
from collections.abc import Callable

STORE_THREAD = "claimkg-store-load"


class HandedOver:
    """A thread started by ``begin``; ``wait`` joins it, then raises what it raised."""

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None

    def begin(self, work: Callable[[], None]) -> None:
        def run() -> None:
            try:
                work()
            except BaseException as failure:  # handed to wait(), in the caller's thread
                self._failure = failure

        self._thread = threading.Thread(target=run, name=STORE_THREAD, daemon=True)
        self._thread.start()

    @property
    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wait(self) -> None:
        """Until the work is done (it is not stopped half-way: a store is not left
        half-written under a folder being removed); then raise what it raised."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise failure
