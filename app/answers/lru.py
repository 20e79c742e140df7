"""``LruCache``: what a process keeps to save time (parsed models, onnxruntime sessions,
finished lab runs, uploaded datasets, kept trace and op answers), least recently used out
first, bounded by entries and by bytes. Only ever a speed-up or a convenience: a miss costs
time, never an answer."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from typing import Generic, TypeVar

Key = TypeVar("Key")
Value = TypeVar("Value")


class LruCache(Generic[Key, Value]):
    """At most ``max_entries`` values (None: any number) and, when ``max_bytes`` is given, that
    many bytes in all (each ``put`` states its value's size); a value larger than ``largest``
    (default ``max_bytes``) is not kept. Thread-safe: request threads share it."""

    def __init__(self, max_entries: int | None, max_bytes: int | None = None,
                 largest: int | None = None) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.largest = max_bytes if largest is None else largest
        self.size = 0  # bytes kept
        self._entries: OrderedDict[Key, tuple[Value, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Key) -> Value | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            return entry[0]

    def put(self, key: Key, value: Value, size: int = 0) -> None:
        if self.largest is not None and size > self.largest:
            return
        with self._lock:
            previous = self._entries.pop(key, None)
            if previous is not None:
                self.size -= previous[1]
            self._entries[key] = (value, size)
            self.size += size
            while (self.max_entries is not None and len(self._entries) > self.max_entries) or (
                self.max_bytes is not None and self.size > self.max_bytes
            ):
                _, (_, dropped) = self._entries.popitem(last=False)
                self.size -= dropped

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.size = 0

    def keys(self) -> Iterator[Key]:
        """The keys kept, least recently used first (a snapshot)."""
        with self._lock:
            return iter(list(self._entries))

    def __len__(self) -> int:
        return len(self._entries)
