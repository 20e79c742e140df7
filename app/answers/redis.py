"""Answers and single-flight shared by every worker and replica through Redis.

``RedisStore``: answers under ``convlens:answer:<key>`` with a time to live; bound the memory
with Redis's own ``maxmemory`` and ``maxmemory-policy allkeys-lru`` (README, "Settings").
``RedisFlight``: within a process, a ``LocalFlight``; across processes, the first one to take
the lock ``convlens:flight:<key>`` (``SET NX PX``) produces and appends every part to the Redis
stream ``convlens:parts:<key>``; the others read that stream from its start (``XREAD BLOCK``)
until its ``end`` entry. A follower that sees the producer fail, or vanish (the lock expired
with no ``end``), before it passed on any part produces the answer itself.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import redis.asyncio as aioredis

from app.answers.flight import LocalFlight, Producer

ANSWER_TTL_SECONDS = 3600
LOCK_MS = 10_000  # renewed with every part: a live producer keeps it
PARTS_TTL_SECONDS = 120
BLOCK_MS = 1_000


class RedisStore:
    def __init__(self, url: str, largest: int) -> None:
        self.client = aioredis.Redis.from_url(url)
        self.largest = largest
        # The client's connections belong to the loop it is made on (a worker's).
        self.loop = asyncio.get_running_loop()

    async def close(self) -> None:
        """Close the connections (a process that exits needs not)."""
        await self.client.aclose()

    async def get(self, key: str) -> bytes | None:
        value = await self.client.get(f"convlens:answer:{key}")
        return None if value is None else bytes(value)

    async def put(self, key: str, value: bytes) -> None:
        if len(value) <= self.largest:
            await self.client.set(f"convlens:answer:{key}", value, ex=ANSWER_TTL_SECONDS)


class ProducerVanished(Exception):
    """The producer in another process stopped without finishing the answer."""


class RedisFlight:
    def __init__(self, client: aioredis.Redis) -> None:
        self.client = client
        self.local = LocalFlight()
        self.produced = 0  # answers this process produced (a test counts them)

    def stream(self, key: str, produce: Producer) -> AsyncIterator[bytes]:
        return self.local.stream(key, lambda: self._shared(key, produce))

    async def _shared(self, key: str, produce: Producer) -> AsyncIterator[bytes]:
        lock, parts = f"convlens:flight:{key}", f"convlens:parts:{key}"
        token = secrets.token_hex(8)
        if not await self.client.set(lock, token, nx=True, px=LOCK_MS):
            passed = 0
            try:
                async for part in self._follow(lock, parts):
                    passed += 1
                    yield part
                return
            except ProducerVanished:
                if passed:
                    raise
            if not await self.client.set(lock, token, nx=True, px=LOCK_MS):
                raise ProducerVanished("another producer took over")
        self.produced += 1
        await self.client.delete(parts)
        try:
            async for part in produce():
                await self.client.xadd(parts, {"d": part})
                await self.client.pexpire(lock, LOCK_MS)
                yield part
            await self.client.xadd(parts, {"end": b"1"})
        except BaseException:
            await self.client.xadd(parts, {"error": b"1"})
            raise
        finally:
            await self.client.expire(parts, PARTS_TTL_SECONDS)
            if await self.client.get(lock) == token.encode():
                await self.client.delete(lock)

    async def _follow(self, lock: str, parts: str) -> AsyncIterator[bytes]:
        last = "0-0"
        while True:
            answer = await self.client.xread({parts: last}, count=256, block=BLOCK_MS)
            if not answer:
                if not await self.client.exists(lock):
                    raise ProducerVanished("the producer's lock expired")
                continue
            for entry_id, fields in answer[0][1]:
                last = entry_id
                if b"end" in fields:
                    return
                if b"error" in fields:
                    raise ProducerVanished("the producer failed")
                yield bytes(fields[b"d"])
