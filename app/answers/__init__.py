"""Answers kept and shared: identical requests computed once.

- ``AnswerStore``: kept answers by key, bounded in bytes. ``MemoryStore`` (per process, an LRU)
  is the default; ``RedisStore`` shares them across workers and replicas
  (``CONVLENS_REDIS_URL``; Redis's own ``maxmemory`` + ``allkeys-lru`` bounds it).
- ``SingleFlight``: identical requests in flight share one producer, and every asker receives
  every part of its answer as it is produced. ``LocalFlight`` within a process;
  ``RedisFlight`` across processes (a lock and a Redis stream of the parts).

Generic: keys are strings, answers are byte parts (the trace's NDJSON lines, a lab run's
events). Nothing here knows HTTP or the engine.
"""

from app.answers.flight import FlightFailed, LocalFlight, SingleFlight
from app.answers.store import AnswerStore, MemoryStore

__all__ = ["AnswerStore", "FlightFailed", "LocalFlight", "MemoryStore", "SingleFlight",
           "answers_from_url"]


def answers_from_url(redis_url: str, memory_bytes: int, largest: int
                     ) -> tuple[AnswerStore, SingleFlight]:
    """The store and single-flight for a process: in memory, or shared through Redis."""
    if not redis_url:
        return MemoryStore(memory_bytes, largest), LocalFlight(retain_bytes=4 * largest)
    from app.answers.redis import RedisFlight, RedisStore  # the redis client: optional

    store = RedisStore(redis_url, largest)
    return store, RedisFlight(store.client)
