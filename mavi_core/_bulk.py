"""Bulk questions (docs/rate-limits-and-bulk.md#bulk-questions): `Batch` keeps one `ask_many`
call's questions, answers, checkpoint and progress; each client only runs the pending ones."""

from __future__ import annotations

import json
import logging
import os
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TypeAlias

from ._exceptions import MaviError, MaviValidationError
from ._models import ChatAnswer
from ._progress import progress_bar
from ._request import check_not_swapped, normalize_video_nos

logger = logging.getLogger("mavi_core")

Question: TypeAlias = tuple[tuple[str, ...], str]  # a chat's `video_nos` and `message`


def _key(video_nos: Sequence[str], message: str) -> str:  # a question's, in a checkpoint file
    return json.dumps([list(video_nos), message], ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class BulkAnswer:
    """The outcome of one question: `text`, or the `error` it failed with (never both)."""

    video_nos: tuple[str, ...]
    question: str
    text: str | None = None
    error: MaviError | None = None
    resumed: bool = False  # read from the checkpoint file, not asked again

    @property
    def ok(self) -> bool:
        return self.error is None


class Batch:
    """The state of one `ask_many` call, thread-safe: a question asked twice is asked once."""

    def __init__(
        self,
        questions: str | Sequence[str],
        video_nos: Sequence[str],
        *,
        checkpoint: str | os.PathLike[str] | None,
        progress: bool | None,
        concurrency: int,
    ) -> None:
        check_not_swapped(video_nos, questions, "ask_many(questions, video_nos)", "questions")
        videos = tuple(normalize_video_nos(video_nos))
        # A question (a str) asked of each video, or each question asked of all of them.
        if isinstance(questions, str):
            self.questions: list[Question] = [((video_no,), questions) for video_no in videos]
        elif questions and all(isinstance(question, str) for question in questions):
            self.questions = [(videos, question) for question in questions]
        else:
            raise MaviValidationError("questions must be a string or a non-empty list of strings.")
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise MaviValidationError(f"concurrency must be an int >= 1, got {concurrency!r}.")
        self.concurrency = concurrency
        self._keys = [_key(*question) for question in self.questions]
        self._places = Counter(self._keys)
        self._answers: dict[str, BulkAnswer] = {}  # by key: from the checkpoint, then as they come
        self._lock = threading.Lock()
        self._path = None if checkpoint is None else Path(checkpoint)
        self._file: IO[str] | None = None
        if self._path is not None:
            saved = self._path.read_bytes() if self._path.exists() else b""
            self._answers = _read_checkpoint(saved, self._path, set(self._keys))
            self._file = self._path.open("a", encoding="utf-8")
            if saved and not saved.endswith(b"\n"):
                self._file.write("\n")  # end the line an interruption left unfinished
        self._done = sum(self._places[key] for key in self._answers)
        self._bar = progress_bar("Asking", len(self.questions), progress)
        self._bar.update(self._done)

    def run(self, chat: Callable[[list[str], str], ChatAnswer]) -> list[BulkAnswer]:
        """Ask the pending questions with `chat`, `concurrency` threads at a time."""

        def ask(index: int) -> None:
            video_nos, message = self.questions[index]
            try:
                self.record(index, chat(list(video_nos), message).text)
            except MaviError as error:
                self.record(index, error)

        pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="mavi-ask-many")
        interrupted = False
        try:
            list(pool.map(ask, self.pending()))
        except KeyboardInterrupt:
            interrupted = True
        finally:
            pool.shutdown(wait=True, cancel_futures=True)  # Ctrl-C: nothing more is asked
            self.close()
        if interrupted:  # one line saying what is saved, not the pool's traceback
            raise self.interrupted()
        return self.answers()

    async def arun(
        self, chat: Callable[[list[str], str], Awaitable[ChatAnswer]]
    ) -> list[BulkAnswer]:
        """`run` as a coroutine: `concurrency` chats in flight at a time."""
        import asyncio

        slots = asyncio.Semaphore(self.concurrency)

        async def ask(index: int) -> None:
            video_nos, message = self.questions[index]
            async with slots:
                try:
                    self.record(index, (await chat(list(video_nos), message)).text)
                except MaviError as error:
                    self.record(index, error)

        try:
            await asyncio.gather(*(ask(index) for index in self.pending()))
        except (KeyboardInterrupt, asyncio.CancelledError):
            logger.warning("%s", self.interrupted())  # the loop's own traceback follows
            raise
        finally:
            self.close()
        return self.answers()

    def pending(self) -> list[int]:
        """The indexes still to ask, in order; a question asked twice, at its first place."""
        first = {key: index for index, key in reversed(list(enumerate(self._keys)))}
        return sorted(index for key, index in first.items() if key not in self._answers)

    def record(self, index: int, outcome: str | MaviError) -> None:
        """Question `index`'s answer text or the error it failed with, saved if a text."""
        text, error = (None, outcome) if isinstance(outcome, MaviError) else (outcome, None)
        answer = BulkAnswer(*self.questions[index], text, error)
        with self._lock:
            self._answers[self._keys[index]] = answer
            self._done += self._places[self._keys[index]]
            if self._file is not None and answer.ok:
                line = {"video_nos": list(answer.video_nos), "question": answer.question}
                self._file.write(json.dumps({**line, "text": outcome}, ensure_ascii=False) + "\n")
                self._file.flush()  # an interruption loses no finished answer
            self._bar.update(self._done)

    def answers(self) -> list[BulkAnswer]:
        """An answer per question, in order, once every pending one is recorded."""
        return [self._answers[key] for key in self._keys]

    def close(self) -> None:
        """Close the checkpoint file, and the bar where it stands (also when interrupted)."""
        if self._file is not None:
            self._file.close()
            self._file = None
        self._bar.close()

    def interrupted(self) -> KeyboardInterrupt:
        """What Ctrl-C ends with: one line saying what is saved where, and how to go on."""
        self.close()
        saved = sum(key in self._answers and self._answers[key].ok for key in self._keys)
        told = f"ask_many interrupted: {saved} of {len(self._keys)} answers"
        if self._path is None:
            return KeyboardInterrupt(
                f"{told} received and not saved; pass checkpoint='answers.jsonl' to keep answers "
                "and resume where a run stopped."
            )
        return KeyboardInterrupt(
            f"{told} are saved in {self._path}; run it again with the same checkpoint to ask "
            "only the rest."
        )


def _read_checkpoint(saved: bytes, path: Path, keys: set[str]) -> dict[str, BulkAnswer]:
    """The answers the checkpoint file `path` holds for the questions `keys`; a line that cannot
    be used (invalid UTF-8, torn, not ours, another question's) is skipped, with one warning."""
    finished: dict[str, BulkAnswer] = {}
    skipped = 0
    for raw in saved.split(b"\n"):
        raw = raw.removeprefix(b"\xef\xbb\xbf").strip()  # a byte order mark (an editor's)
        if not raw:
            continue
        try:
            item = json.loads(raw.decode("utf-8"))
            question: Question = (tuple(item["video_nos"]), item["question"])
            key, text = _key(*question), item["text"]
        except (ValueError, KeyError, TypeError):
            skipped += 1
            continue
        if key in keys and isinstance(text, str):
            finished[key] = BulkAnswer(*question, text, resumed=True)
        else:
            skipped += 1
    if skipped:
        logger.warning(
            "ask_many: %d line%s of the checkpoint %s skipped (damaged, cut short, or not one of "
            "these questions).",
            skipped,
            "" if skipped == 1 else "s",
            path,
        )
    return finished
