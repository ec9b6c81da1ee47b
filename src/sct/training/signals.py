"""Stopping on a signal: SIGINT/SIGTERM let the current step finish and save, then the run stops."""

from __future__ import annotations

import logging
import signal
from typing import Any

from sct.distributed import any_process

logger = logging.getLogger(__name__)


class StopRequest:
    """Set by SIGINT/SIGTERM: the run saves a checkpoint at the end of the current step, then stops."""

    def __init__(self) -> None:
        self.signal_name: str | None = None
        self._previous: dict[int, Any] = {}

    def install(self) -> None:
        import threading

        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.getsignal(sig)
            signal.signal(sig, self._handle)

    def _handle(self, signum: int, frame: Any) -> None:

        self.signal_name = signal.Signals(signum).name
        logger.warning("%s: saving a checkpoint after this step, then stopping (send it again to stop at once)",
                       self.signal_name)  # fmt: skip
        signal.signal(signum, self._previous.get(signum, signal.SIG_DFL))  # a second signal acts as before

    def requested(self) -> bool:
        """Whether any process got a signal: under DDP every process must stop after the same step."""

        return any_process(self.signal_name is not None)

    def restore(self) -> None:

        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()
