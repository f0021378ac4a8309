"""5a. Scaling of the history mapping: conversations of 10 to 100,000 messages.

Three mappings, each from its user's message objects to MAVI's `message` and `history`:
`conversation_to_chat` (mavi_core) on (role, text) pairs, ChatMavi's on LangChain messages, and
MaviChatEngine's on LlamaIndex `ChatMessage`s. A conversation is one system message, then
alternating user and assistant messages ending with a user one. Linear means the cost per
message stays flat: at 100,000 messages at most 2 times what it is at 1,000 (a quadratic mapping
would be about 100 times; a fresh heap's page faults and cache misses at 100,000 messages cost
up to about 1.6 times on the 2-core machine of the README). The garbage
collector is paused while timing, as `timeit` does: its full collections grow with everything
alive in the process, which would measure the heap rather than the mapping.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ._paths import VIDEO_NOS
from ._report import BenchmarkResult, Row, Target, median
from ._timing import paused_gc

__all__ = ["Sizes", "run"]

KEY = "history"
LINEAR_LIMIT = 2.0
REFERENCE_SIZE = 1_000


@dataclass(frozen=True, slots=True)
class Sizes:
    messages: tuple[int, ...]
    repetitions: int
    min_batch_messages: int
    """Small conversations are mapped in batches of at least this many messages in all."""


FULL = Sizes(messages=(10, 100, 1_000, 10_000, 100_000), repetitions=5, min_batch_messages=10_000)
SMOKE = Sizes(messages=(10, 100, 1_000), repetitions=1, min_batch_messages=1_000)


def _roles(count: int) -> list[str]:
    return [
        "system" if i == 0 else ("user" if (count - i) % 2 == 1 else "assistant")
        for i in range(count)
    ]


def _texts(count: int) -> list[str]:
    return [f"message {i}: what does the chef do with the onion?" for i in range(count)]


def _mappings() -> dict[str, tuple[Callable[[int], Any], Callable[[Any], object]]]:
    """Each mapping: how to build its input of n messages, and the mapping itself."""
    from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
    from llama_index.core.base.llms.types import ChatMessage, MessageRole

    from langchain_mavi import messages_to_request
    from llamaindex_mavi import messages_to_chat
    from mavi_core._adapters import conversation_to_chat

    langchain_class = {"system": SystemMessage, "user": HumanMessage, "assistant": AIMessage}
    llamaindex_role = {
        "system": MessageRole.SYSTEM,
        "user": MessageRole.USER,
        "assistant": MessageRole.ASSISTANT,
    }

    def pairs(count: int) -> list[tuple[str, str]]:
        return list(zip(_roles(count), _texts(count), strict=True))

    def langchain_messages(count: int) -> list[Any]:
        return [
            langchain_class[role](content=text)
            for role, text in zip(_roles(count), _texts(count), strict=True)
        ]

    def llamaindex_messages(count: int) -> list[Any]:
        return [
            ChatMessage(role=llamaindex_role[role], content=text)
            for role, text in zip(_roles(count), _texts(count), strict=True)
        ]

    return {
        "mavi_core.conversation_to_chat": (pairs, conversation_to_chat),
        "ChatMavi (messages_to_request)": (
            langchain_messages,
            lambda messages: messages_to_request(messages, None, VIDEO_NOS),
        ),
        "MaviChatEngine (messages_to_chat)": (llamaindex_messages, messages_to_chat),
    }


def _per_message_ns(
    mapping: Callable[[Any], object], inputs: dict[int, Any], sizes: Sizes
) -> dict[int, list[float]]:
    """Samples per size; the sizes take turns in each repetition, so load drift hits all."""
    samples: dict[int, list[float]] = {count: [] for count in inputs}
    for _ in range(sizes.repetitions):
        for count, conversation in inputs.items():
            batch = max(1, sizes.min_batch_messages // count)
            start = time.perf_counter_ns()
            for _ in range(batch):
                mapping(conversation)
            samples[count].append((time.perf_counter_ns() - start) / batch / count)
    return samples


def _slope(counts: Sequence[int], per_message: Sequence[float]) -> float:
    """Exponent of total time in n (least squares on logs): 1.0 is linear."""
    xs = [math.log(count) for count in counts]
    ys = [math.log(cost * count) for count, cost in zip(counts, per_message, strict=True)]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    covariance = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    return covariance / sum((x - mean_x) ** 2 for x in xs)


def run(server: object = None, smoke: bool = False) -> BenchmarkResult:
    sizes = SMOKE if smoke else FULL
    started = time.perf_counter()
    rows: list[Row] = []
    targets: list[Target] = []
    largest = sizes.messages[-1]
    for name, (build, mapping) in _mappings().items():
        inputs = {count: build(count) for count in sizes.messages}
        for conversation in inputs.values():
            mapping(conversation)  # warm-up
        with paused_gc():
            samples = _per_message_ns(mapping, inputs, sizes)
        costs = {count: median(count_samples) for count, count_samples in samples.items()}
        del inputs
        reference = costs[min(REFERENCE_SIZE, largest)]
        large = [count for count in sizes.messages if count >= min(REFERENCE_SIZE, largest)]
        slope = _slope(large, [costs[count] for count in large]) if len(large) > 1 else 1.0
        for count, cost in costs.items():
            rows.append(
                Row(
                    f"{name} n={count:,}",
                    cost,
                    "ns/message",
                    cost / reference,
                    f"{cost * count / 1e6:.3f} ms per conversation",
                )
            )
        growth = costs[largest] / reference
        targets.append(
            Target(
                f"{name} linear (n={largest:,} vs {min(REFERENCE_SIZE, largest):,})",
                growth,
                LINEAR_LIMIT,
                f"x per-message cost; exponent {slope:.2f}",
                growth <= LINEAR_LIMIT,
            )
        )
    return BenchmarkResult(
        key=KEY,
        title="5a. History mapping scaling",
        method=(
            f"{', '.join(f'{n:,}' for n in sizes.messages)} messages; time per message, median "
            f"of {sizes.repetitions} interleaved rounds (small sizes mapped in batches of >= "
            f"{sizes.min_batch_messages:,} messages), gc paused while timing; x floor = x the "
            f"per-message cost at n={min(REFERENCE_SIZE, largest):,}"
        ),
        rows=rows,
        targets=targets,
        seconds=time.perf_counter() - started,
    )
