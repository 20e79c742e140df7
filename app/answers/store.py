"""Kept answers: ``AnswerStore`` and the per-process ``MemoryStore``."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Protocol


class AnswerStore(Protocol):
    """Answers by key. ``put`` may drop an answer (too large, evicted): a miss only costs time."""

    async def get(self, key: str) -> bytes | None: ...

    async def put(self, key: str, value: bytes) -> None: ...


class MemoryStore:
    """An LRU of answers bounded by ``capacity`` bytes in all; larger than ``largest``: not kept."""

    def __init__(self, capacity: int, largest: int) -> None:
        self.capacity = capacity
        self.largest = largest
        self.size = 0
        self._entries: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    async def get(self, key: str) -> bytes | None:
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    async def put(self, key: str, value: bytes) -> None:
        if len(value) > self.largest:
            return
        with self._lock:
            previous = self._entries.pop(key, None)
            if previous is not None:
                self.size -= len(previous)
            self._entries[key] = value
            self.size += len(value)
            while self.size > self.capacity:
                _, dropped = self._entries.popitem(last=False)
                self.size -= len(dropped)

    def __len__(self) -> int:
        return len(self._entries)
