"""Answers to identical requests, kept: the engine is deterministic.

A class opens the teacher's demo: sixty identical bodies. The first computes;
the others get the same bytes back, looked up on the event loop by route and a
hash of the raw body (nothing parsed, no worker thread), already gzipped when
the first asker accepted gzip. Bounded by bytes, least recently used out first. One
cache per application (``app.state.response_cache``): answers depend on its
settings. Errors are never cached: they are raised, not returned.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import Response

from app.answers.lru import LruCache

# Total bytes of cached answers, the largest answer kept, and the largest body
# looked up (hashing it runs on the event loop: about 1 ms per MB).
CACHE_BYTES = 32 * 1024 * 1024
LARGEST_ANSWER = 2 * 1024 * 1024
LARGEST_BODY = 512 * 1024

Key = tuple[str, bytes]


def accepts_gzip(request: Request) -> bool:
    return "gzip" in request.headers.get("accept-encoding", "")


@dataclass(frozen=True)
class Answer:
    """A JSON answer, and its gzip form when a client that accepts gzip made it."""

    plain: bytes
    compressed: bytes | None = None

    @classmethod
    def of(cls, plain: bytes, compress: bool) -> Answer:
        """Compressing here (a worker thread) spares the event loop the middleware's work;
        level 1, like the API's gzip middleware."""
        return cls(plain, gzip.compress(plain, compresslevel=1, mtime=0) if compress else None)

    @property
    def size(self) -> int:
        return len(self.plain) + len(self.compressed or b"")

    def response(self, request: Request) -> Response:
        if self.compressed is not None and accepts_gzip(request):
            return Response(
                self.compressed, media_type="application/json",
                headers={"Content-Encoding": "gzip", "Vary": "Accept-Encoding"},
            )
        # The API's gzip middleware compresses this one if the client accepts it.
        return Response(self.plain, media_type="application/json")


class ResponseCache:
    """A thread-safe LRU of answers by ``(route, body hash)``, bounded by ``capacity`` bytes."""

    def __init__(self, capacity: int = CACHE_BYTES, largest: int = LARGEST_ANSWER) -> None:
        self.capacity = capacity
        self.largest = largest
        self._cache: LruCache[Key, Answer] = LruCache(None, capacity, largest)

    @staticmethod
    def key(route: str, raw: bytes) -> Key | None:
        """The cache key of a body, or None for a body too large to hash on the loop."""
        if len(raw) > LARGEST_BODY:
            return None
        return route, hashlib.blake2b(raw, digest_size=20).digest()

    def get(self, key: Key | None) -> Answer | None:
        return None if key is None else self._cache.get(key)

    def put(self, key: Key | None, answer: Answer) -> None:
        if key is not None:
            self._cache.put(key, answer, answer.size)

    def __len__(self) -> int:
        return len(self._cache)


async def get_cache(request: Request) -> ResponseCache:
    """The application's cache, made on first use (async: on the loop, so made once)."""
    state = request.app.state
    cache: ResponseCache | None = getattr(state, "response_cache", None)
    if cache is None:
        cache = state.response_cache = ResponseCache()
    return cache
