"""The budget holds where it matters, at the service: six processes of two threads share 10 chats
a second through a real redis-server, and a server counting arrivals never sees more than 10 in
any sliding second. One short run here; `make bench` runs twenty (benchmarks/exact_budget.py)."""

from __future__ import annotations

from benchmarks._exact_worker import CALLS
from benchmarks._server import BenchServer
from benchmarks.exact_budget import busiest_second, exact_budget_run


def test_the_busiest_second_is_counted_over_sliding_windows() -> None:
    assert busiest_second([0.0, 0.5, 0.99, 1.0, 1.2, 1.3]) == 5  # from 0.5 to 1.3
    assert busiest_second([0.0, 1.0, 2.0]) == 1
    assert busiest_second([]) == 0


def test_six_processes_never_send_more_than_the_budget_in_any_second(redis_url: str) -> None:
    with BenchServer() as server:
        outcome = exact_budget_run(server, redis_url, duration=2.0)
    arrivals = outcome["arrivals"]
    assert isinstance(arrivals, list) and len(arrivals) >= CALLS  # the budget was used
    assert busiest_second(arrivals) <= CALLS
