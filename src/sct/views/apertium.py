"""Round-trip translation with Apertium (rule-based, offline), one translation unit per sentence.

Apertium translates a stream, not lines: a line without final punctuation is merged with the next
one in structural transfer. Sentences are therefore separated by a blank line (a paragraph break,
which Apertium keeps), the output is split on blank lines again, and a chunk whose unit count does
not come back intact is bisected until every unit is accounted for. Whole chunks go through one
``apertium -u SRC-PIV | apertium -u PIV-SRC`` pipeline per call, never one process per sentence.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import threading

from sct.errors import ConfigError

APT_HINT = "sudo apt-get install apertium apertium-eng-spa apertium-eng-cat"
_BLANK_LINE = re.compile(r"\n[ \t]*\n")


def check_apertium(*modes: str) -> None:
    """Fail with the install command when Apertium or one of the language pairs is missing."""
    if shutil.which("apertium") is None:
        raise ConfigError(f"Apertium is not installed (needed for back-translation views): {APT_HINT}")
    listed = subprocess.run(["apertium", "-l"], capture_output=True, text=True).stdout.split()
    missing = [m for m in modes if m not in listed]
    if missing:
        raise ConfigError(f"Apertium mode(s) {', '.join(missing)} not installed: {APT_HINT}")


def _feed(stream, data: bytes) -> None:
    try:
        stream.write(data)
        stream.close()
    except (BrokenPipeError, ValueError, OSError):  # the reader died or was killed
        pass


class ApertiumRoundTrip:
    """English -> pivot -> English, e.g. ``ApertiumRoundTrip("spa")`` for eng-spa-eng."""

    def __init__(self, pivot: str, source: str = "eng") -> None:
        self.forward, self.backward = f"{source}-{pivot}", f"{pivot}-{source}"
        check_apertium(self.forward, self.backward)
        self.name = f"apertium-{source}-{pivot}-{source}"

    def _pipeline(self, text: str) -> str:
        """forward | backward on ``text``; a Ctrl-C (``sct.views.STOP``) kills both within half a second."""
        from sct.views import STOP

        # each in its own process group: apertium is a shell pipeline, killed whole (no orphaned lt-proc)
        first = subprocess.Popen(["apertium", "-u", self.forward], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 start_new_session=True)  # fmt: skip
        second = subprocess.Popen(["apertium", "-u", self.backward], stdin=first.stdout, stdout=subprocess.PIPE,
                                  start_new_session=True)  # fmt: skip
        assert first.stdin is not None and first.stdout is not None
        first.stdout.close()  # so `first` gets SIGPIPE if `second` dies
        feeder = threading.Thread(target=_feed, args=(first.stdin, text.encode("utf-8")), daemon=True)
        feeder.start()  # written beside the read below, so neither side waits on a full pipe
        while True:
            try:
                output, _ = second.communicate(timeout=0.5)
                break
            except subprocess.TimeoutExpired:
                if STOP.is_set():
                    for process in (first, second):
                        with contextlib.suppress(ProcessLookupError):
                            os.killpg(process.pid, signal.SIGKILL)
                        process.wait()
                    raise KeyboardInterrupt from None
        first.wait()
        if first.returncode or second.returncode:
            raise RuntimeError(f"apertium exited with {first.returncode}/{second.returncode}")
        return output.decode("utf-8", errors="replace")

    def translate(self, sentences: list[str]) -> list[str | None]:
        """Round-trip each sentence; ``None`` where a sentence failed or came back empty."""
        from sct.views import STOP

        if STOP.is_set():  # Ctrl-C: no retry of the halves of a chunk the signal cut short
            raise KeyboardInterrupt
        if not sentences:
            return []
        try:
            output = self._pipeline("\n\n".join(sentences) + "\n")
        except (OSError, RuntimeError):
            output = None
        units = None if output is None else [" ".join(u.split()) for u in _BLANK_LINE.split(output.strip("\n"))]
        if units is not None and len(units) == len(sentences):
            return [u or None for u in units]
        if len(sentences) == 1:
            return [None]
        middle = len(sentences) // 2
        return self.translate(sentences[:middle]) + self.translate(sentences[middle:])
