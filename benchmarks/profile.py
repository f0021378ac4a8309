"""Where the time goes: one benchmark path under cProfile, against the benchmark server.

    python -m benchmarks.profile streaming "MaviClient.stream_chat"
    python -m benchmarks.profile concurrency            # ChatMavi.ainvoke, warm burst of 200

Prints the functions with the most cumulative and own time, our packages and the transport
first; the other figures of the run are left to `python -m benchmarks.run`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import pstats
import sys

from ._paths import VIDEO_NOS, async_paths, sync_paths
from ._server import BenchServer, Scenario
from ._timing import drain_async, drain_sync

__all__ = ["main"]

_INTERESTING = ("mavi_core", "langchain_mavi", "llamaindex_mavi", "httpcore", "httpx", "h11")


def _print(profile: cProfile.Profile, limit: int) -> None:
    stats = pstats.Stats(profile, stream=sys.stdout)
    stats.sort_stats("cumulative").print_stats("|".join(_INTERESTING), limit)
    stats.sort_stats("tottime").print_stats(limit)


def _streaming(server: BenchServer, name: str, deltas: int) -> cProfile.Profile:
    scenario = Scenario(deltas, 4)
    profile = cProfile.Profile()
    with contextlib.ExitStack() as stack:
        for path in sync_paths(server, scenario, stack):
            if path.name == name:
                drain_sync(path, 100)  # warm-up
                profile.runcall(drain_sync, path)
                return profile

    async def run_async() -> bool:
        async with contextlib.AsyncExitStack() as stack:
            for path in async_paths(server, scenario, stack):
                if path.name == name:
                    await drain_async(path, 100)
                    profile.enable()
                    await drain_async(path)
                    profile.disable()
                    return True
        return False

    if not asyncio.run(run_async()):
        raise SystemExit(f"no streaming path named {name!r}")
    return profile


def _concurrency(server: BenchServer, calls: int) -> cProfile.Profile:
    from langchain_mavi import ChatMavi

    profile = cProfile.Profile()

    async def run() -> None:
        llm = ChatMavi(
            video_nos=VIDEO_NOS, api_key="sk-bench", base_url=server.mavi_url(Scenario(8, 4, 50))
        )
        await asyncio.gather(*(llm.ainvoke("q") for _ in range(calls)))  # opens the pool
        profile.enable()
        await asyncio.gather(*(llm.ainvoke("q") for _ in range(calls)))
        profile.disable()

    asyncio.run(run())
    return profile


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile", description=__doc__)
    parser.add_argument("benchmark", choices=("streaming", "concurrency"))
    parser.add_argument("path", nargs="?", default="MaviClient.stream_chat")
    parser.add_argument("--deltas", type=int, default=20_000)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--limit", type=int, default=25)
    args = parser.parse_args(argv)
    with BenchServer() as server:
        if args.benchmark == "streaming":
            profile = _streaming(server, args.path, args.deltas)
        else:
            profile = _concurrency(server, args.calls)
    _print(profile, args.limit)


if __name__ == "__main__":
    main()
