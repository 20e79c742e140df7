"""Kept answers: ``AnswerStore`` and the per-process ``MemoryStore``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from app.answers.lru import LruCache


class AnswerStore(Protocol):
    """Answers by key. ``put`` may drop an answer (too large, evicted): a miss only costs time."""

    async def get(self, key: str) -> bytes | None: ...

    async def put(self, key: str, value: bytes) -> None: ...


class MemoryStore:
    """An LRU of answers bounded by ``capacity`` bytes in all; larger than ``largest``: not kept."""

    def __init__(self, capacity: int, largest: int) -> None:
        self.capacity = capacity
        self.largest = largest
        self._cache: LruCache[str, bytes] = LruCache(None, capacity, largest)

    @property
    def size(self) -> int:
        return self._cache.size

    async def get(self, key: str) -> bytes | None:
        return self._cache.get(key)

    async def put(self, key: str, value: bytes) -> None:
        self._cache.put(key, value, len(value))

    def keys(self) -> Iterator[str]:
        return self._cache.keys()

    def __len__(self) -> int:
        return len(self._cache)
