"""Docker's json-file log: one JSON object per line, {"log": ..., "stream": ..., "time": ...}."""

import json

from .follow import Follower

# The json-file driver splits a message longer than 16 KiB over several entries; only the
# last one ends in "\n". https://github.com/moby/moby/blob/master/daemon/logger/copier.go
_MAX_MESSAGE = 1 << 20


class DockerLog:
    """One container's log: its complete stdout messages. stderr (nginx's error log) is left out."""

    def __init__(self, follower: Follower) -> None:
        self.follower = follower
        self._pending = ""

    def read(self) -> tuple[list[str], int]:
        """The stdout messages written since the last read, and the count of lines that are not
        json-file entries."""
        messages: list[str] = []
        bad = 0
        for line in self.follower.read_lines():
            try:
                entry = json.loads(line)
                stream, text = entry["stream"], entry["log"]
            except (ValueError, TypeError, KeyError):
                bad += 1
                continue
            if stream != "stdout" or not isinstance(text, str):
                continue
            message = self._assemble(text)
            if message is not None:
                messages.append(message)
        return messages, bad

    def close(self) -> None:
        self.follower.close()

    def _assemble(self, text: str) -> str | None:
        """The whole message once its last part has arrived, else None."""
        if not text.endswith("\n"):
            self._pending = (self._pending + text)[-_MAX_MESSAGE:]
            return None
        message, self._pending = self._pending + text, ""
        return message
