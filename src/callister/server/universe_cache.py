"""Generation runs ahead of players: systems are generated in a worker process and cached.

When a zone wakes, its jump neighbours are queued for generation, so by the time a ship has
charged its jump drive the target system is ready and the jump never waits on the generator.
Generation is pure Python; in a thread it would hold the GIL against the tick loop (measured:
tick p99 spikes of 100+ ms while neighbours were generated), so it runs in its own process.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import multiprocessing
import threading
from collections import OrderedDict

from callister.universe import DEFAULT_PARAMS, GeneratorParams, StarSystem, generate_system


class UniverseCache:
    def __init__(
        self, seed: int, capacity: int = 4096, params: GeneratorParams = DEFAULT_PARAMS
    ) -> None:
        self.seed = seed
        self.params = params  # the world's generator parameters: with the seed, its map
        self.capacity = capacity
        self._systems: OrderedDict[tuple[int, int], StarSystem | None] = OrderedDict()
        self._pending: dict[tuple[int, int], concurrent.futures.Future[StarSystem | None]] = {}
        self._pool_: concurrent.futures.ProcessPoolExecutor | None = None
        self._lock = threading.RLock()  # the generator thread stores while the loop reads
        self.generated = 0
        self.waited = 0  # times a caller had to wait for generation (should stay ~0 for jumps)

    def cached(self, x: int, y: int) -> bool:
        return (x, y) in self._systems

    def peek(self, x: int, y: int) -> StarSystem | None:
        """The system if it is already generated (never generates on the caller's thread)."""
        with self._lock:
            system = self._systems.get((x, y))
            if system is not None:
                self._systems.move_to_end((x, y))
            return system

    def prefetch(self, coords: list[tuple[int, int]] | tuple[tuple[int, int], ...]) -> None:
        """Queue generation of these sectors in the background (no-op for cached ones)."""
        for xy in coords:
            self._future(xy)

    async def get(self, x: int, y: int) -> StarSystem | None:
        """The system at (x, y), generated off the loop if it is not cached yet."""
        if self.cached(x, y):
            return self.peek(x, y)
        self.waited += 1
        return await asyncio.wrap_future(self._future((x, y)))

    async def ready(self, coords: list[tuple[int, int]] | tuple[tuple[int, int], ...]) -> None:
        """Wait until these sectors are generated, for background work (names for speech):
        not counted in `waited`, which counts the callers a missing system held up."""
        await asyncio.gather(
            *(asyncio.wrap_future(self._future(xy)) for xy in coords), return_exceptions=True
        )

    def get_blocking(self, x: int, y: int) -> StarSystem | None:
        """For worker threads and the CLI only: generate on the calling thread."""
        with self._lock:
            if (x, y) in self._systems:
                return self._systems[(x, y)]
        system = generate_system(self.seed, x, y, self.params)
        self._store((x, y), system)
        return system

    def _future(self, xy: tuple[int, int]) -> concurrent.futures.Future[StarSystem | None]:
        with self._lock:
            if xy in self._systems:
                done: concurrent.futures.Future[StarSystem | None] = concurrent.futures.Future()
                done.set_result(self._systems[xy])
                return done
            future = self._pending.get(xy)
            if future is None:
                future = self._pool.submit(generate_system, self.seed, xy[0], xy[1], self.params)
                self._pending[xy] = future
                future.add_done_callback(functools.partial(self._finish, xy))
            return future

    def _finish(
        self, xy: tuple[int, int], future: concurrent.futures.Future[StarSystem | None]
    ) -> None:
        if future.cancelled() or future.exception() is not None:
            with self._lock:
                self._pending.pop(xy, None)
            return
        self._store(xy, future.result())

    def _store(self, xy: tuple[int, int], system: StarSystem | None) -> None:
        with self._lock:
            self._pending.pop(xy, None)
            self.generated += 1
            self._systems[xy] = system
            self._systems.move_to_end(xy)
            while len(self._systems) > self.capacity:
                self._systems.popitem(last=False)

    @property
    def _pool(self) -> concurrent.futures.ProcessPoolExecutor:
        if self._pool_ is None:  # started on first use; "spawn" because the server has threads
            self._pool_ = concurrent.futures.ProcessPoolExecutor(
                1, mp_context=multiprocessing.get_context("spawn")
            )
        return self._pool_

    def close(self) -> None:
        if self._pool_ is not None:
            self._pool_.shutdown(wait=False, cancel_futures=True)
