"""The budget holds where it matters, at the service: six processes of two threads share 10 chats
a second through a real redis-server, and a server counting arrivals never sees more than 10 in
any sliding second. One short run here; `make bench` runs twenty (benchmarks/exact_budget.py)."""

from __future__ import annotations

import time
from typing import Any

from benchmarks._exact_worker import CALLS
from benchmarks._server import BenchServer
from benchmarks.exact_budget import busiest_second, exact_budget_run
from mavi_core import Budget, RateLimit


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


def test_a_turn_handed_back_late_is_taken_again_close_to_its_request() -> None:
    limit = RateLimit(budgets={"chat": Budget(5, 1.0)}, margin=0.02)  # 10 ms may pass
    assert limit.try_acquire("chat", account="a") == 0
    slot = limit._slots["a:chat"]
    put = slot.bucket.put
    held_up = [True]

    def put_held_up(item: Any) -> Any:  # this thread held up between stamp and hand-back
        if held_up.pop() if held_up else False:
            time.sleep(0.05)
        return put(item)

    slot.bucket.put = put_held_up  # type: ignore[method-assign]
    assert limit.try_acquire("chat", account="a") == 0
    assert slot.puts == 3  # the late turn counted, and one more taken for the request
    assert limit.try_acquire("chat", account="a") == 0
    assert slot.puts == 4  # a turn in time: one


def test_a_margin_of_zero_never_takes_a_turn_again() -> None:
    limit = RateLimit(budgets={"chat": Budget(5, 1.0)}, margin=0)
    assert limit.try_acquire("chat", account="a") == 0
    slot = limit._slots["a:chat"]
    put = slot.bucket.put
    slot.bucket.put = lambda item: time.sleep(0.02) or put(item)  # type: ignore[method-assign]
    assert limit.try_acquire("chat", account="a") == 0
    assert slot.puts == 2
