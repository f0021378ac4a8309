"""The video-understanding chat completions (``POST /serve/api/v2/vu/chat/completions``) and
the media the emulator hosts for it (``GET /media/<video name>``). Pure, no I/O.

Answers are grounded in the videos the URLs name: a URL ending in a sample video's name (or
videoNo) is that video; any other URL gets clearly synthetic content derived from its file
name, since the emulator fetches nothing. A URL under the emulator's own ``/media/`` that names
no video is answered, as the service answers a file it cannot fetch, with HTTP 200 and
``status: "errored"``. Replies take the documented shape of each provider (Gemini and Qwen:
``choices[].text`` with ``usage.input_tokens/output_tokens``; Nova: ``choices[].message`` with
``usage.prompt_tokens/output_token``); a schema sent under ``extra_body.metadata`` is answered
with JSON that satisfies it (Qwen's inside a ```json code fence, as models sometimes send
it). A missing provider prefix or a part the provider does not take is HTTP 400 with the body
``{"code": 400, "msg": ...}``. Token counts are deterministic estimates (words, and ten a
second of video).
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from ._answers import compose_answer, rank_moments
from ._library import Moment, Video, synthetic_video
from ._text import terms, words

VLM_PATH = "/serve/api/v2/vu/chat/completions"
MEDIA_PREFIX = "/media/"
PROVIDERS = ("gemini", "qwen", "nova")
TOKENS_PER_SECOND = 10

# A tiny MP4: an `ftyp` box and a `free` box naming the video, enough for a type sniffer.
_FTYP = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"


def media_bytes(name: str) -> bytes:
    payload = f"mavi-emulator sample video: {name}".encode()
    return _FTYP + (8 + len(payload)).to_bytes(4, "big") + b"free" + payload


class VlmRefusal(Exception):
    """HTTP 400, as the service answers a request it cannot take."""


class VlmErrored(Exception):
    """HTTP 200 with ``status: "errored"``: the request was taken, the completion failed."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class VlmRequest:
    model: str
    provider: str
    question: str
    text: str
    """Every text part of every message (for the input token count)."""
    urls: tuple[str, ...]
    schema: Mapping[str, Any] | None
    gemini_dialect: bool
    max_tokens: int | None
    stop: tuple[str, ...]
    stream: bool
    tools: tuple[Mapping[str, Any], ...] = ()
    """Nova's `toolConfig.tools[].toolSpec`s."""
    tool_result: str | None = None
    """What a tool answered, when the last user turn carries a `toolResult`."""


def parse_request(body: bytes) -> VlmRequest:
    try:
        payload = json.loads(body)
    except ValueError:
        raise VlmRefusal("The request body must be JSON.") from None
    if not isinstance(payload, dict):
        raise VlmRefusal("The request body must be a JSON object.")
    model = payload.get("model")
    if not isinstance(model, str) or not model:
        raise VlmRefusal("model is required (e.g. gemini:gemini-2.5-flash).")
    provider, colon, name = model.partition(":")
    if not colon or provider not in PROVIDERS or not name:
        raise VlmRefusal(
            f"Invalid model {model!r}: prefix it with its provider, e.g. "
            "gemini:gemini-2.5-flash, qwen:qwen3-vl-plus or nova:us.amazon.nova-lite-v1:0."
        )
    messages = payload.get("messages")
    if not isinstance(messages, list) or not messages:
        raise VlmRefusal("messages is required and must be a non-empty array.")
    texts: list[str] = []
    urls: list[str] = []
    question = ""
    tool_result: str | None = None
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in (
            "system",
            "user",
            "assistant",
        ):
            raise VlmRefusal(f"messages[{index}] needs a role: system, user or assistant.")
        content = message.get("content")
        parts = [{"type": "text", "text": content}] if isinstance(content, str) else content
        if not isinstance(parts, list):
            raise VlmRefusal(f"messages[{index}].content must be a string or an array.")
        said = []
        if message["role"] == "user":
            tool_result = None
        for part in parts:
            if provider == "nova" and isinstance(part, dict) and "toolUse" in part:
                continue  # an earlier call of a tool, sent back
            if provider == "nova" and isinstance(part, dict) and "toolResult" in part:
                tool_result = _tool_result(part["toolResult"], index)
                continue
            said_text, url = _part(part, provider, index)
            if said_text is not None:
                said.append(said_text)
            if url is not None:
                urls.append(url)
        texts += said
        if message["role"] == "user" and said:
            question = " ".join(said)
    metadata = (payload.get("extra_body") or {}).get("metadata") or {}
    if not isinstance(metadata, dict):
        raise VlmRefusal("extra_body.metadata must be an object.")
    schema, gemini_dialect = _schema(metadata, provider)
    tools = _tools(metadata, provider)
    stop = payload.get("stop")
    stops = (stop,) if isinstance(stop, str) else tuple(s for s in stop or () if isinstance(s, str))
    max_tokens = payload.get("max_tokens")
    return VlmRequest(
        model=model,
        provider=provider,
        question=question,
        text=" ".join(texts),
        urls=tuple(urls),
        schema=schema,
        gemini_dialect=gemini_dialect,
        max_tokens=max_tokens if isinstance(max_tokens, int) and max_tokens > 0 else None,
        stop=stops,
        stream=payload.get("stream") is True,
        tools=tools,
        tool_result=tool_result,
    )


def _tool_result(value: object, index: int) -> str:
    content = value.get("content") if isinstance(value, dict) else None
    if not isinstance(value, dict) or not isinstance(value.get("toolUseId"), str):
        raise VlmRefusal(f"messages[{index}]: a toolResult needs toolUseId and content.")
    texts = [c.get("text") for c in content or () if isinstance(c, dict)]
    return " ".join(str(text) for text in texts if text is not None)


def _tools(metadata: Mapping[str, Any], provider: str) -> tuple[Mapping[str, Any], ...]:
    config = metadata.get("toolConfig")
    if config is None:
        return ()
    if provider != "nova":
        raise VlmRefusal(f"toolConfig is taken by nova models only, not {provider}.")
    tools = config.get("tools") if isinstance(config, dict) else None
    specs = [tool.get("toolSpec") for tool in tools or () if isinstance(tool, dict)]
    if not tools or not all(isinstance(spec, dict) and spec.get("name") for spec in specs):
        raise VlmRefusal("toolConfig.tools must be a list of {toolSpec: {name, ...}}.")
    return tuple(specs)  # type: ignore[arg-type]


def _part(part: object, provider: str, index: int) -> tuple[str | None, str | None]:
    if not isinstance(part, dict):
        raise VlmRefusal(f"messages[{index}].content holds a part that is not an object.")
    kind = part.get("type")
    if kind == "text":
        text = part.get("text")
        if not isinstance(text, str):
            raise VlmRefusal(f"messages[{index}]: a text part needs a text string.")
        return text, None
    wanted = "video_url" if provider == "nova" else "input_file"
    if kind != wanted:
        raise VlmRefusal(
            f"messages[{index}]: {provider} models take text and {wanted} parts, not {kind!r}."
        )
    source = part.get("video_url") if provider == "nova" else part.get("file_uri")
    if isinstance(source, dict):
        source = source.get("url")
    if not isinstance(source, str) or not source:
        field = "video_url" if provider == "nova" else "file_uri"
        raise VlmRefusal(f"messages[{index}]: the {wanted} part needs {field}.")
    if provider != "nova" and not isinstance(part.get("mime_type"), str):
        raise VlmRefusal(f"messages[{index}]: the input_file part needs mime_type.")
    return None, source


def _schema(metadata: Mapping[str, Any], provider: str) -> tuple[Mapping[str, Any] | None, bool]:
    if provider == "gemini" and "responseSchema" in metadata:
        if metadata.get("response_mime_type") not in ("application/json", "json_schema"):
            raise VlmRefusal("responseSchema needs response_mime_type application/json.")
        return metadata["responseSchema"], True
    response_format = metadata.get("response_format")
    if provider == "qwen" and isinstance(response_format, dict):
        inner = response_format.get("json_schema")
        if not isinstance(inner, dict) or not isinstance(inner.get("schema"), dict):
            raise VlmRefusal("response_format.json_schema.schema must be an object.")
        return inner["schema"], False
    return None, False


# --- answers -------------------------------------------------------------------------------

_WINDOW = re.compile(
    r"(?:from|between)?\s*(\d+(?:\.\d+)?)\s*s?\s*(?:to|and|-|–)\s*(\d+(?:\.\d+)?)\s*(?:s\b|sec|seconds)",
    re.IGNORECASE,
)


def _window(question: str) -> tuple[float, float] | None:
    match = _WINDOW.search(question)
    if match is None:
        return None
    start, end = float(match.group(1)), float(match.group(2))
    return (start, end) if end > start else None


def _within(video: Video, window: tuple[float, float] | None) -> Video:
    if window is None:
        return video
    start, end = window

    def keep(moments: tuple[Moment, ...]) -> tuple[Moment, ...]:
        return tuple(m for m in moments if m.end > start and m.start < end)

    return replace(video, scenes=keep(video.scenes), transcript=keep(video.transcript))


def videos_of(
    urls: Sequence[str], find: Callable[[str], Video | None], own_host: str
) -> list[Video]:
    """The videos the URLs name; `VlmErrored` for an unknown file under our own /media/."""
    videos = []
    for url in urls:
        parts = urlsplit(url)
        name = unquote(PurePosixPath(parts.path).name) if parts.scheme else ""
        video = find(name) if name else None
        if video is None and parts.netloc == own_host and parts.path.startswith(MEDIA_PREFIX):
            raise VlmErrored(400, f"Failed to fetch file_uri {url}: no such file (HTTP 404).")
        if video is None:
            seed = hashlib.sha256(url.encode()).digest()
            video = synthetic_video(name or "video.mp4", seed, ready_at=0.0)
        videos.append(video)
    return videos


def compose(request: VlmRequest, videos: Sequence[Video]) -> str:
    window = _window(request.question)
    shown = [_within(video, window) for video in videos]
    if request.schema is not None:
        return _structured(request, shown)
    if not shown:
        return "No video was attached, so this answers from the text alone: " + (
            request.question.strip() or "nothing was asked."
        )
    answer = compose_answer(shown, request.question, [])
    return _cut(answer, request)


def _cut(answer: str, request: VlmRequest) -> str:
    for stop in request.stop:
        if stop in answer:
            answer = answer[: answer.index(stop)]
    return answer


def _structured(request: VlmRequest, videos: Sequence[Video]) -> str:
    query = terms(request.question)
    hits = rank_moments(videos, query) if videos else []
    best = hits[0].moment if hits else None
    facts = _Facts(
        matched=bool(hits),
        text=best.text if best else _fallback(request, videos),
        start=best.start if best else 0,
        end=best.end if best else (videos[0].duration if videos else 0),
        count=len(hits),
        name=videos[0].name if videos else "",
    )
    value = _fill(request.schema or {}, facts, "", request.gemini_dialect)
    text = json.dumps(value, ensure_ascii=False)
    return f"```json\n{text}\n```" if request.provider == "qwen" else text


def _fallback(request: VlmRequest, videos: Sequence[Video]) -> str:
    if videos and videos[0].scenes:
        return f"Nothing in view matches this; the clip shows: {videos[0].scenes[0].text}"
    return f"Answered from the text alone: {request.question.strip()[:200]}"


@dataclass(frozen=True, slots=True)
class _Facts:
    matched: bool
    text: str
    start: int
    end: int
    count: int
    name: str


def _fill(schema: Mapping[str, Any], facts: _Facts, name: str, gemini: bool) -> Any:
    kind = str(schema.get("type", "")).lower()
    if isinstance(schema.get("type"), list):
        kind = next((str(k) for k in schema["type"] if k != "null"), "string")
    if not kind:
        for key in ("anyOf", "oneOf"):
            for alt in schema.get(key) or ():
                if isinstance(alt, Mapping) and alt.get("type") not in ("null", "NULL"):
                    return _fill(alt, facts, name, gemini)
        kind = "object" if "properties" in schema else "string"
    enum = schema.get("enum")
    if enum:
        return _choose(list(enum), facts)
    lowered = name.lower()
    if kind == "boolean":
        return facts.matched
    if kind in ("integer", "number"):
        number = int if kind == "integer" else float
        if "end" in lowered:
            return number(facts.end)
        if "start" in lowered or "time" in lowered or "second" in lowered:
            return number(facts.start)
        if kind == "integer":
            return facts.count
        high = schema.get("maximum", 1.0)
        return round(min(float(high), 0.9 if facts.matched else 0.2), 2)
    if kind == "array":
        items = schema.get("items") or {"type": "string"}
        count = max(1, int(schema.get("minItems", 1)))
        return [_fill(items, facts, name, gemini) for _ in range(count)]
    if kind == "object":
        properties = schema.get("properties") or {}
        return {key: _fill(value, facts, key, gemini) for key, value in properties.items()}
    if "name" in lowered or "title" in lowered or "video" in lowered:
        return facts.name or facts.text
    return facts.text


def _choose(options: list[Any], facts: _Facts) -> Any:
    yes = ("yes", "true", "match", "confirmed", "verified", "present")
    no = ("no", "false", "mismatch", "absent", "rejected", "not")
    for option in options:
        text = str(option).lower()
        if facts.matched and any(text.startswith(word) for word in yes):
            return option
        if not facts.matched and any(text.startswith(word) for word in no):
            return option
    return options[0]


# --- replies -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Completion:
    text: str
    finish_reason: str
    input_tokens: int
    output_tokens: int
    tool_call: dict[str, Any] | None = None
    """OpenAI's form of a tool call (the service's is not documented)."""


def _call_tool(request: VlmRequest) -> dict[str, Any]:
    """The tool whose name and description share most words with the question (the first on
    a tie), called with arguments that satisfy its input schema: numbers from the question."""
    query = terms(request.question)
    spec = max(
        request.tools,
        key=lambda tool: len(
            query & terms(f"{tool['name']} {tool.get('description', '')}".replace("_", " "))
        ),
    )
    numbers = [int(number) for number in re.findall(r"-?\d+", request.question)]
    facts = _Facts(True, request.question, 0, 0, numbers[0] if numbers else 0, "")
    schema = (spec.get("inputSchema") or {}).get("json") or {"type": "object"}
    arguments = _fill(schema, facts, "", False) if schema.get("properties") else {}
    digest = hashlib.sha256(f"{spec['name']}\0{time.time_ns()}".encode()).hexdigest()
    return {
        "id": f"tooluse_{digest[:22]}",
        "type": "function",
        "function": {"name": spec["name"], "arguments": json.dumps(arguments)},
    }


def complete(request: VlmRequest, videos: Sequence[Video]) -> Completion:
    seen = sum(video.duration for video in videos) * TOKENS_PER_SECOND
    if request.tools and request.tool_result is None:
        call = _call_tool(request)
        return Completion("", "tool_calls", len(words(request.text)) + seen + 8, 12, call)
    answer = compose(request, videos)
    if request.tool_result is not None:
        answer = f"The tool answered: {request.tool_result}"
    tokens = answer.split(" ")
    finish = "stop"
    if request.max_tokens is not None and len(tokens) > request.max_tokens:
        answer, finish = " ".join(tokens[: request.max_tokens]), "length"
    return Completion(
        text=answer,
        finish_reason=finish,
        input_tokens=len(words(request.text)) + seen + 8,
        output_tokens=max(1, len(words(answer))),
    )


def _ids(request: VlmRequest, completion: Completion) -> str:
    digest = hashlib.sha256(f"{request.model}\0{request.text}\0{time.time_ns()}".encode())
    return digest.hexdigest()


def reply(request: VlmRequest, completion: Completion) -> dict[str, Any]:
    """The whole reply, in the provider's documented shape."""
    now = int(time.time())
    digest = _ids(request, completion)
    total = completion.input_tokens + completion.output_tokens
    if request.provider == "nova":
        return {
            "id": f"chatcmpl_{digest[:32]}",
            "object": "chat.completion",
            "created": now,
            "model": request.model,
            "choices": [
                {
                    "index": 0,
                    "message": _message(completion),
                    "finish_reason": completion.finish_reason,
                }
            ],
            "usage": {
                "prompt_tokens": completion.input_tokens,
                "output_token": completion.output_tokens,
                "total_tokens": total,
            },
        }
    provider_model = request.model.partition(":")[2]
    return {
        "id": f"resp_{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}",
        "object": "completion",
        # Gemini replies repeat the prefixed model, Qwen replies the bare one (as documented).
        "model": request.model if request.provider == "gemini" else provider_model,
        "created_at": now,
        "status": "completed",
        "choices": [{"text": completion.text, "index": 0}],
        "usage": {
            "input_tokens": completion.input_tokens,
            "output_tokens": completion.output_tokens,
            "total_tokens": total,
        },
        "meta": {"provider": request.provider, "provider_model": provider_model},
    }


def _message(completion: Completion) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": completion.text}
    if completion.tool_call is not None:
        message["tool_calls"] = [completion.tool_call]
    return message


def errored(request_model: str, error: VlmErrored) -> dict[str, Any]:
    return {
        "id": f"resp_{hashlib.sha256(error.message.encode()).hexdigest()[:24]}",
        "object": "completion",
        "model": request_model,
        "created_at": int(time.time()),
        "status": "errored",
        "error": {"code": error.code, "message": error.message},
        "choices": [],
    }


def stream_events(
    request: VlmRequest, completion: Completion, pieces: Sequence[str]
) -> list[bytes]:
    """``stream: true`` as OpenAI-style chunk events then ``data: [DONE]``: the service's
    stream format is not published; this is one plausible form, which the client reads as
    tolerantly as any other."""
    whole = reply(request, completion)
    head = {"id": whole["id"], "object": "chat.completion.chunk", "model": whole["model"]}
    events = [
        _event({**head, "choices": [{"index": 0, "delta": {"content": piece}}]}) for piece in pieces
    ]
    if completion.tool_call is not None:  # the name first, then the arguments in two pieces
        call, arguments = completion.tool_call, completion.tool_call["function"]["arguments"]
        half = len(arguments) // 2
        first = {
            **call,
            "index": 0,
            "function": {"name": call["function"]["name"], "arguments": ""},
        }
        for fragment in (
            first,
            *(
                {"index": 0, "function": {"arguments": piece}}
                for piece in (arguments[:half], arguments[half:])
            ),
        ):
            events.append(
                _event({**head, "choices": [{"index": 0, "delta": {"tool_calls": [fragment]}}]})
            )
    last = {
        **head,
        "choices": [{"index": 0, "delta": {}, "finish_reason": completion.finish_reason}],
        "usage": whole["usage"],
    }
    if "meta" in whole:
        last["meta"] = whole["meta"]
    events.append(_event(last))
    events.append(b"data: [DONE]\n\n")
    return events


def _event(value: Any) -> bytes:
    return b"data: " + json.dumps(value, ensure_ascii=False).encode() + b"\n\n"
