"""A class at once: identical runs trained once, distinct runs queued, abandoned runs stopped.

``RunBoard.watch(config)`` gives an async iterator of a run's events:

- single-flight: a run with the same ``LabConfig.key()`` as one in progress is not started
  again; the new watcher gets every event so far, then the rest as they come;
- cache: a finished run (``end``) is kept (``RunCache``, least recently used out first,
  bounded by runs and bytes) and
  replayed to later watchers at once, without training;
- bounded: at most ``max_jobs`` runs train at a time, each in a worker thread; the others
  wait in order, and their watchers get ``{"event": "queue", "position": p}`` (1 = next)
  whenever the position changes; more than ``max_queue`` waiting runs is ``BoardFull``;
- a run whose last watcher leaves is cancelled (taken out of the queue, or stopped between
  two batches).

The cache is behind a two-method interface (``get``/``put`` by key): the per-process
``MemoryRunCache``, or ``StoreRunCache`` over ``app.answers``' store (Redis when
``CONVLENS_REDIS_URL`` is set), so that a run trained by one replica is replayed by all.
Single-flight of runs in progress stays per process.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

import anyio.to_thread

from app.answers.lru import LruCache


class BoardFull(Exception):
    """More runs are waiting than ``max_queue``."""


class RunCache(Protocol):
    """Finished runs' events by run key (async: a shared store answers over the network)."""

    async def get(self, key: str) -> list[dict] | None: ...

    async def put(self, key: str, events: list[dict]) -> None: ...


class BytesStore(Protocol):
    """What ``StoreRunCache`` needs: ``app.answers``' ``AnswerStore`` (memory or Redis)."""

    async def get(self, key: str) -> bytes | None: ...

    async def put(self, key: str, value: bytes) -> None: ...


class StoreRunCache:
    """Finished runs kept in a shared byte store (``app.answers``: Redis for several
    replicas), as JSON under ``lab:<key>``: a run trained by one replica is replayed by all."""

    def __init__(self, store: BytesStore, prefix: str = "lab:") -> None:
        self.store, self.prefix = store, prefix

    async def get(self, key: str) -> list[dict] | None:
        value = await self.store.get(self.prefix + hashlib.blake2b(key.encode()).hexdigest())
        return None if value is None else json.loads(value)

    async def put(self, key: str, events: list[dict]) -> None:
        await self.store.put(self.prefix + hashlib.blake2b(key.encode()).hexdigest(),
                             json.dumps(events).encode())


class MemoryRunCache:
    """Per-process LRU of finished runs, bounded by count and by bytes (a run's events as
    JSON: a few kB for the defaults, more with many filters and epochs)."""

    def __init__(self, capacity: int = 256, capacity_bytes: int = 32 * 1024 * 1024) -> None:
        self.capacity, self.capacity_bytes = capacity, capacity_bytes
        self._runs: LruCache[str, list[dict]] = LruCache(capacity, capacity_bytes)

    async def get(self, key: str) -> list[dict] | None:
        return self._runs.get(key)

    async def put(self, key: str, events: list[dict]) -> None:
        self._runs.put(key, events, len(json.dumps(events)))

    def __len__(self) -> int:
        return len(self._runs)


@dataclass
class Run:
    """One training in progress (or waiting), and who watches it."""

    key: str
    start: Callable[[Callable[[], bool]], Iterator[dict]]
    events: list[dict] = field(default_factory=list)
    watchers: int = 0
    done: bool = False
    stop: threading.Event = field(default_factory=threading.Event)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task | None = None

    def publish(self, event: dict) -> None:
        self.events.append(event)
        self.changed.set()


class RunBoard:
    """Runs of one process, on one event loop."""

    def __init__(self, max_jobs: int = 1, max_queue: int = 32,
                 cache: RunCache | None = None) -> None:
        self.max_jobs, self.max_queue = max_jobs, max_queue
        self.cache: RunCache = cache if cache is not None else MemoryRunCache()
        self.running: list[Run] = []
        self.waiting: list[Run] = []
        self.trainings = 0  # runs actually started (what the tests and benchmarks count)

    def _flight(self, key: str) -> Run | None:
        """The run of ``key`` in progress or waiting, unless it is being cancelled."""
        return next(
            (run for run in (*self.running, *self.waiting)
             if run.key == key and not run.stop.is_set()),
            None,
        )

    async def watch(
        self, key: str, start: Callable[[Callable[[], bool]], Iterator[dict]]
    ) -> AsyncIterator[tuple[dict, bool]]:
        """Events of the run ``key`` as ``(event, cached)``; ``start(should_stop)`` trains.

        Raises ``BoardFull`` (before anything is sent) when the queue is full.
        """
        cached = await self.cache.get(key)
        if cached is not None:
            return self._replay(cached)
        run = self._flight(key)
        if run is None:
            if len(self.waiting) >= self.max_queue:
                raise BoardFull(
                    f"{len(self.waiting)} runs are already waiting (lab_max_queue); "
                    "try again in a minute, or pick a preset someone is training"
                )
            run = Run(key, start)
            self.waiting.append(run)
            self._schedule()
        run.watchers += 1
        return self._follow(run)

    async def _replay(self, events: list[dict]) -> AsyncIterator[tuple[dict, bool]]:
        for event in events:
            yield event, True

    async def _follow(self, run: Run) -> AsyncIterator[tuple[dict, bool]]:
        sent = 0
        try:
            while True:
                while sent < len(run.events):
                    event = run.events[sent]
                    sent += 1
                    if event["event"] == "queue" and any(
                        later["event"] == "queue" for later in run.events[sent:]
                    ):
                        continue  # a later position supersedes it
                    yield event, False
                if run.done:
                    return
                run.changed.clear()
                if sent == len(run.events) and not run.done:
                    await run.changed.wait()
        finally:
            run.watchers -= 1
            if run.watchers == 0 and not run.done:
                self._abandon(run)

    def _abandon(self, run: Run) -> None:
        run.stop.set()
        if run in self.waiting:
            self.waiting.remove(run)
            run.done = True
            self._announce_positions()

    def _announce_positions(self) -> None:
        for position, run in enumerate(self.waiting, start=1):
            last = next((e for e in reversed(run.events) if e["event"] == "queue"), None)
            if last is None or last["position"] != position:
                run.publish({"event": "queue", "position": position})

    def _schedule(self) -> None:
        while self.waiting and len(self.running) < self.max_jobs:
            run = self.waiting.pop(0)
            self.running.append(run)
            run.task = asyncio.get_running_loop().create_task(self._train(run))
        self._announce_positions()

    async def _train(self, run: Run) -> None:
        self.trainings += 1
        events = run.start(run.stop.is_set)
        finished: list[dict] = []
        try:
            while True:
                event = await anyio.to_thread.run_sync(next, events, None)
                if event is None:
                    break
                finished.append(event)
                run.publish(event)
            if finished and finished[-1]["event"] == "end":
                await self.cache.put(run.key, finished)
        except Exception as error:  # a bug in a run must reach its watchers, not hang them
            run.publish({"event": "error", "code": "internal_error",
                         "message": f"the run failed: {type(error).__name__}"})
        finally:
            run.stop.set()
            try:
                events.close()
            except ValueError:  # cancelled (shutdown) while a thread still runs the epoch
                pass
            run.done = True
            run.changed.set()
            self.running.remove(run)
            self._schedule()
