"""Video-understanding chat completions: bodies checked before any request, one tolerant reader
for every reply, streamed or not (the stream format is not published). Pure, no I/O; `_flow`
sends them. What each provider takes: docs/langchain-vlm-chat-model.md#overview."""

from __future__ import annotations

import base64
import codecs
import dataclasses
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, TypeAlias

from . import _options, _videos
from ._envelope import error_for_code, is_success_code
from ._exceptions import MaviError, MaviServerError, MaviValidationError
from ._models import ChatDelta
from ._request import ApiCall, check_text
from ._stream import ChatStreamDecoder, _End

VLM_PATH: Final = "/serve/api/v2/vu/chat/completions"
_EXAMPLES: Final = {
    "gemini": "gemini:gemini-2.5-flash",
    "qwen": "qwen:qwen3-vl-plus",
    "nova": "nova:us.amazon.nova-lite-v1:0",
}
_GUESS: Final = {"gemini": "gemini", "qwen": "qwen", "nova": "nova", "amazon": "nova"}


def closest_option(name: str, options: Sequence[str]) -> str:
    """ " Did you mean 'x'?" for the valid option nearest to `name`, or a list of them all."""
    near = _options.closest_option(name, options)
    return f" Did you mean {near!r}?" if near else f" Valid options: {', '.join(sorted(options))}."


def check_vlm_model(model: object) -> tuple[str, str]:
    """(provider, model); the prefix is required (the service answers a bare id with HTTP 400)."""
    text = model.strip() if isinstance(model, str) else ""
    provider, colon, name = text.partition(":")
    if colon and provider.lower() in _EXAMPLES and name.strip():
        return provider.lower(), text
    guesses = [guess for word, guess in _GUESS.items() if word in text.lower() and not colon]
    hint = f" Did you mean {guesses[0] + ':' + text!r}?" if guesses else ""
    raise MaviValidationError(
        f"model {model!r} does not name its provider: write the provider, a colon, then its "
        f"model, as in {', '.join(map(repr, _EXAMPLES.values()))}.{hint}"
    )


@dataclass(frozen=True, slots=True)
class TextPart:
    text: str


MediaKind: TypeAlias = Literal["video", "image", "file"]


@dataclass(frozen=True, slots=True)
class MediaPart:
    """A video, image or other file: an http(s) `url`, or base64 `data` (with `mime_type`)."""

    kind: MediaKind
    url: str | None = None
    data: str | None = None
    mime_type: str | None = None


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A call of a tool given (Nova only), in a reply or sent back in an assistant turn."""

    id: str
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ToolResult:
    """What a tool answered to the call `id`, sent back in a user turn (Nova only)."""

    id: str
    text: str


Part: TypeAlias = "TextPart | MediaPart | ToolCall | ToolResult"


@dataclass(frozen=True, slots=True)
class VlmMessage:
    role: Literal["system", "user", "assistant"]
    parts: tuple[Part, ...]


def media_part(kind: MediaKind, url: str, mime_type: str | None) -> MediaPart:
    """A framework block's URL as a part: a `data:` URL's base64 data, or the URL itself."""
    if not url.startswith("data:"):
        return MediaPart(kind, url=url, mime_type=mime_type)
    head, _, data = url.partition(",")
    if ";base64" not in head:
        data = base64.b64encode(data.encode()).decode()
    return MediaPart(kind, data=data, mime_type=mime_type or head[5:].split(";", 1)[0] or None)


_DEFAULT_MIME: Final = {"video": "video/mp4", "image": "image/jpeg", "file": "video/mp4"}
_SUFFIX_MIMES: Final = {
    **{suffix: f"video/{suffix}" for suffix in ("mp4", "webm")},
    **{suffix: f"image/{suffix}" for suffix in ("jpeg", "png", "webp", "gif")},
    "jpg": "image/jpeg",
    "mov": "video/quicktime",
    "mkv": "video/x-matroska",
    "avi": "video/x-msvideo",
}


def _wire_part(part: Part, provider: str, where: str) -> dict[str, Any]:
    if isinstance(part, TextPart):
        return {"type": "text", "text": check_text(part.text, where)}
    nova = provider == "nova"
    if isinstance(part, ToolCall | ToolResult):
        if not nova:
            raise MaviValidationError(
                f"{where} is a tool {'call' if isinstance(part, ToolCall) else 'result'}: tool "
                f"calling is documented for nova: models only, not {provider}:."
            )
        # The API documents Nova's toolConfig in Bedrock's form; turns carry tool use alike.
        if isinstance(part, ToolCall):
            return {"toolUse": {"toolUseId": part.id, "name": part.name, "input": part.arguments}}
        return {"toolResult": {"toolUseId": part.id, "content": [{"text": part.text}]}}
    suffix = (part.url or "").split("?", 1)[0].split("#", 1)[0].rpartition(".")[2].lower()
    mime = part.mime_type or _SUFFIX_MIMES.get(suffix) or _DEFAULT_MIME[part.kind]
    is_video = part.kind == "video" or mime.startswith("video/")
    if nova and not is_video:
        raise MaviValidationError(
            f"{where} is a {mime} file: Nova's video endpoint takes video_url parts only. "
            "Use a gemini: or qwen: model for images."
        )
    source, inline = part.url or part.data or "", part.url is None and part.data is not None
    if inline and is_video and not nova:
        raise MaviValidationError(
            f"{where} is a video given as base64 data: {provider} takes videos by URL "
            "only. Host the file and pass {'type': 'video', 'url': 'https://...'}."
        )
    if not inline and not re.match(r"^https?://[^\s/]+", check_text(source, where)):
        raise MaviValidationError(
            f"{where} has the URL {source[:80]!r}: the API fetches media by http(s) URL. "
            "Give a public https URL (the emulator serves its sample videos under /media/)."
        )
    if nova:
        return {"type": "video_url", "video_url": source}
    return {"type": "input_file", "file_uri": source, "mime_type": mime}


@dataclass(frozen=True, slots=True)
class VlmOptions:
    """A call's options, each sent where its provider documents it, refused by a provider
    without it (docs/langchain-vlm-chat-model.md#overview). `response_schema` is a JSON schema;
    `tools` and `tool_choice` are Nova's `toolConfig` entries in Bedrock's form."""

    temperature: float | None = None
    max_tokens: int | None = None
    top_p: float | None = None
    stop: Sequence[str] | None = None
    thinking_budget: int | None = None
    response_schema: Mapping[str, Any] | None = None
    schema_name: str = "answer"
    tools: Sequence[Mapping[str, Any]] | None = None
    tool_choice: Mapping[str, Any] | None = None


NO_OPTIONS: Final = VlmOptions()
_CALL_OPTIONS: Final = tuple(option.name for option in dataclasses.fields(VlmOptions))


def call_options(owner: str, kwargs: Mapping[str, Any], defaults: Mapping[str, Any]) -> VlmOptions:
    """Given (not None) `kwargs` over `defaults`; an unknown one is refused, naming the closest."""
    unknown = sorted(set(kwargs) - set(_CALL_OPTIONS))
    if unknown:
        hint = closest_option(unknown[0], _CALL_OPTIONS)
        raise MaviValidationError(f"{owner} calls take no argument {unknown[0]!r}.{hint}")
    return VlmOptions(**{**defaults, **_videos.given(**kwargs)})


_SAMPLING: Final = {"temperature": (0.0, 2.0), "max_tokens": (1, None), "top_p": (0.0, 1.0)}


def _bounded(name: str, value: object, low: float, high: float | None = None) -> Any:
    if high is None:
        if not _videos.is_whole(value, int(low)):
            raise MaviValidationError(f"{name} must be an integer >= {low}, got {value!r}.")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise MaviValidationError(
            f"{name} must be a number from {low:g} to {high:g}, got {value!r}."
        )
    return float(value)


def vlm_call(
    model: str, messages: Sequence[VlmMessage], options: VlmOptions, *, stream: bool = False
) -> ApiCall:
    """The request, every input checked now, before it is sent."""
    provider, model = check_vlm_model(model)
    if not messages:
        raise MaviValidationError("messages is empty: pass at least one user message.")
    wire = []
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        if message.role not in ("system", "user", "assistant"):
            raise MaviValidationError(
                f"{where} has the role {message.role!r}: the API takes system, user and "
                "assistant turns."
            )
        if not message.parts:
            raise MaviValidationError(f"{where} is empty: give it text or a video.")
        parts = [
            _wire_part(part, provider, f"{where}.content[{number}]")
            for number, part in enumerate(message.parts)
        ]
        wire.append({"role": message.role, "content": parts})  # parts, as the vendor sends
    body = {"model": model, "messages": wire, "stream": stream} | check_vlm_options(model, options)
    accept = "text/event-stream, application/json" if stream else "application/json"
    return ApiCall("POST", VLM_PATH, json=body, accept=accept)


def check_vlm_options(model: str, options: VlmOptions) -> dict[str, Any]:
    """The body's fields for `options`, each checked; the frameworks' models call it when built,
    to refuse a bad one (`max_tokens=-1`, a thinking budget for Nova) then."""
    provider = check_vlm_model(model)[0]
    body = {
        name: _bounded(name, value, *bounds)
        for name, bounds in _SAMPLING.items()
        if (value := getattr(options, name)) is not None
    }
    if options.stop:
        stops = [options.stop] if isinstance(options.stop, str) else list(options.stop)
        if not all(isinstance(stop, str) and stop for stop in stops):
            raise MaviValidationError(f"stop must be a list of non-empty strings, got {stops!r}.")
        body["stop"] = stops
    budget, schema, tools = options.thinking_budget, options.response_schema, options.tools
    metadata: dict[str, Any] = {}
    if budget is not None and provider == "nova":
        raise MaviValidationError(
            "thinking_budget is not an option of Nova models (the API documents thinking "
            "for gemini: and qwen: models only): leave it out, or use one of those."
        )
    if budget is not None and provider == "gemini":
        metadata["thinking_config"] = {"thinking_budget": _bounded("thinking_budget", budget, -1)}
    elif budget is not None:
        budget = _bounded("thinking_budget", budget, 0)
        metadata = {"enable_thinking": budget > 0} | ({"thinking_budget": budget} if budget else {})
    if schema is not None and not isinstance(schema, Mapping):
        raise MaviValidationError(
            f"The response schema must be a JSON schema object, got {schema!r}."
        )
    if schema is not None and provider == "nova":
        raise MaviValidationError(
            "Nova models have no structured output (the API documents a response schema "
            "for gemini: and qwen: models only): use one of those, or Nova's tool calling."
        )
    if schema is not None and provider == "gemini":
        metadata["response_mime_type"] = "application/json"
        metadata["responseSchema"] = gemini_schema(schema)
    elif schema is not None:
        name = re.sub(r"[^A-Za-z0-9_-]", "_", options.schema_name or "answer")[:64]
        named = {"name": name, "schema": dict(schema)}
        metadata["response_format"] = {"type": "json_schema", "json_schema": named}
    if tools and provider != "nova":
        raise MaviValidationError(
            f"Tool calling is documented for nova: models only, not {provider}:. Use "
            "structured output (a response schema) instead, or a nova: model."
        )
    if tools:
        choice = {} if options.tool_choice is None else {"toolChoice": dict(options.tool_choice)}
        metadata["toolConfig"] = {"tools": [dict(tool) for tool in tools]} | choice
    if metadata:
        body["extra_body"] = {"metadata": metadata}
    return body


_GEMINI_TYPES: Final = ("string", "number", "integer", "boolean", "array", "object")
_GEMINI_SIZES: Final = ("minItems", "maxItems", "minLength", "maxLength")
_GEMINI_KEPT: Final = ("description", "format", "pattern", "minimum", "maximum", *_GEMINI_SIZES)


def gemini_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """`schema` in Gemini's `responseSchema` dialect (upper-case types, `nullable`, references
    inlined); what it cannot express (recursion, maps, tuples) is refused, saying why."""
    definitions = {**schema.get("definitions", {}), **schema.get("$defs", {})}
    return _gemini(schema, definitions, (), "the schema")


def _gemini(
    node: Mapping[str, Any], defs: Mapping[str, Any], seen: tuple[str, ...], where: str
) -> dict[str, Any]:
    if "$ref" in node:
        ref = str(node["$ref"])
        name = ref.rsplit("/", 1)[-1]
        if name in seen:
            raise MaviValidationError(
                f"Gemini's responseSchema cannot take {where}: it refers to {name!r} inside "
                f"itself, and Gemini's schema dialect has no recursion. Flatten the schema."
            )
        if name not in defs:
            raise MaviValidationError(f"{where} refers to {ref!r}, not defined in the schema.")
        return _gemini(_merged(defs[name], node, "$ref"), defs, (*seen, name), where)
    if len(node.get("allOf") or ()) == 1:
        return _gemini(_merged(node["allOf"][0], node, "allOf"), defs, seen, where)
    kind = node.get("type")
    alternatives = node.get("anyOf") or node.get("oneOf")
    if isinstance(kind, list) and not alternatives:  # {"type": ["string", "null"]}, an anyOf
        alternatives = [{**node, "type": one} for one in kind]
    if alternatives:
        kept = [alt for alt in alternatives if alt.get("type") != "null"]
        nullable = {"nullable": True} if len(kept) < len(alternatives) else {}
        if len(kept) != 1:
            return {**nullable, "anyOf": [_gemini(alt, defs, seen, where) for alt in kept]}
        alone = _merged(kept[0], node, "anyOf", "oneOf", "type")
        return {**_gemini(alone, defs, seen, where), **nullable}
    out: dict[str, Any] = {}
    if "const" in node or "enum" in node:
        out["enum"] = [str(value) for value in node.get("enum", [node.get("const")])]
    kind = kind or ("string" if "enum" in out else "object" if "properties" in node else None)
    if kind not in _GEMINI_TYPES:
        raise MaviValidationError(
            f"Gemini's responseSchema cannot take {where}: it has no type Gemini knows "
            f"({kind!r}); give it one of {', '.join(_GEMINI_TYPES)}."
        )
    out["type"] = kind.upper()
    out.update((key, node[key]) for key in _GEMINI_KEPT if key in node)
    if kind == "array":
        items = node.get("items")
        if isinstance(items, list) or "prefixItems" in node:
            raise MaviValidationError(
                f"Gemini's responseSchema cannot take {where}: a tuple (prefixItems) has no "
                "form in Gemini's dialect. Use a list of one item type, or an object."
            )
        out["items"] = _gemini(items or {"type": "string"}, defs, seen, f"{where}'s items")
    if kind == "object":
        extra = node.get("additionalProperties")
        properties = node.get("properties") or {}
        if isinstance(extra, Mapping) or (extra is True and not properties):
            raise MaviValidationError(
                f"Gemini's responseSchema cannot take {where}: a map (additionalProperties) has "
                "no form in Gemini's dialect. Use a list of objects with a key field instead."
            )
        if not properties:
            raise MaviValidationError(
                f"Gemini's responseSchema cannot take {where}: an object without properties. "
                "Name its fields."
            )
        out["properties"] = {
            name: _gemini(value, defs, seen, f"{where}'s field {name!r}")
            for name, value in properties.items()
        }
        out["propertyOrdering"] = list(properties)
        if node.get("required"):
            out["required"] = list(node["required"])
    return out


def _merged(base: Mapping[str, Any], node: Mapping[str, Any], *replaced: str) -> dict[str, Any]:
    return {**base, **{key: value for key, value in node.items() if key not in replaced}}


@dataclass(frozen=True, slots=True)
class VlmUsage:
    input_tokens: int
    output_tokens: int
    total_tokens: int


@dataclass(slots=True)
class VlmReply:
    """A whole answer, or what a stream told so far (filled in as its events arrive)."""

    text: str = ""
    id: str | None = None
    model: str | None = None
    provider: str | None = None
    provider_model: str | None = None
    finish_reason: str | None = None
    created: int | None = None
    usage: VlmUsage | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    raw: dict[str, Any] | None = None
    """The last JSON object of the reply, as the service sent it."""

    def described(self, model: str) -> dict[str, Any]:
        """What the adapters report besides the text, for the (prefixed) `model` asked."""
        provider, _, bare = model.partition(":")
        return {
            "model": model,
            "provider": self.provider or provider,
            "provider_model": self.provider_model or bare,
            "finish_reason": self.finish_reason or "stop",
        } | ({} if self.id is None else {"id": self.id})

    def note(self, value: Mapping[str, Any]) -> None:
        """Take what a reply object (or a stream event) tells besides the text."""
        self.raw = dict(value)
        told = {"id": value.get("id"), "model": value.get("model")}
        meta = value.get("meta")
        if isinstance(meta, Mapping):
            told.update(provider=meta.get("provider"), provider_model=meta.get("provider_model"))
        for key, text in told.items():
            if isinstance(text, str):
                setattr(self, key, text)
        created = value.get("created_at", value.get("created"))
        self.created = created if type(created) is int else self.created  # an int, not a bool
        usage = value.get("usage")
        if isinstance(usage, Mapping):  # input/output_tokens, or prompt_tokens/output_token (sic)
            given = _count(usage, "input_tokens", "prompt_tokens")
            made = _count(usage, "output_tokens", "output_token", "completion_tokens")
            total = _count(usage, "total_tokens")
            if given is not None or made is not None:
                given, made = given or 0, made or 0
                self.usage = VlmUsage(given, made, given + made if total is None else total)


def _count(value: Mapping[str, Any], *names: str) -> int | None:
    """The first count given, as a number or a string of digits ("10"), as numbers may be."""
    for count in map(value.get, names):
        if isinstance(count, str) and count.strip().isdecimal() and len(count) < 20:
            count = int(count)  # isdecimal: the digits int() reads ("²" is a digit, not decimal)
        if _videos.is_whole(count, 0):
            return count
    return None


def _error_of(error: object) -> MaviError:
    """The error a reply tells: the `error` of one with `status: "errored"` (sent with HTTP
    200), a string or {"code", "message"}; or an error envelope, {"code": 400, "msg": ...}."""
    if not isinstance(error, Mapping):
        return error_for_code("errored", error if isinstance(error, str) else None)
    code, message = error.get("code"), error.get("message") or error.get("msg")
    return error_for_code("errored" if code is None else code, message)


def _tool_call(call_id: str, name: str, arguments: str) -> ToolCall:
    """Refused unless it names its tool and its arguments are a JSON object: none made up."""
    if not name:
        raise MaviServerError("The model called a tool without its name. Ask again.")
    try:
        value = json.loads(arguments or "{}", strict=False)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than Python reads
        raise MaviServerError(
            f"The model called a tool with arguments that are not JSON: {arguments[:120]!r}."
        ) from None
    if value is not None and not isinstance(value, Mapping):
        raise MaviServerError(
            f"The model called a tool with arguments that are a JSON "
            f"{type(value).__name__}, not an object. Ask again."
        )
    return ToolCall(call_id, name, dict(value or {}))


_FRAMED: Final = (b"data", b":", b"event", b"id:", b"retry", b"{", b"[", b"<")


class VlmStreamDecoder(ChatStreamDecoder):
    """Any reply of the endpoint: text deltas out, the rest noted in `reply`. Events and JSON go
    through `ChatStreamDecoder`; a plain text body is handed out as it comes."""

    __slots__ = ("_fragments", "_head", "_plain", "reply")

    def __init__(self, max_event: int, max_body: int, reply: VlmReply | None = None) -> None:
        super().__init__(max_event, max_body)
        self.reply = VlmReply() if reply is None else reply
        self._head: bytes | None = b""  # the first bytes, until they show what the body is
        self._plain: Any = None  # an incremental UTF-8 decoder once the body is plain text
        self._fragments: dict[tuple[int, int], dict[str, str]] = {}  # tool calls, in pieces

    def feed(self, chunk: bytes) -> list[ChatDelta]:
        if self._head is not None:
            self._head = (self._head + chunk).lstrip(b"\xef\xbb\xbf \t\r\n")
            if len(self._head) < 5:
                return []
            chunk = self._begin()
        if self._plain is None:
            return super().feed(chunk)
        text = self._plain.decode(chunk)
        return [ChatDelta(text)] if text else []

    def finish(self) -> list[ChatDelta]:
        deltas = self.feed(self._begin()) if self._head else []  # a body too short to tell
        if self._plain is None:
            return deltas + super().finish()
        self.done = True
        text = self._plain.decode(b"", final=True)
        return [*deltas, ChatDelta(text)] if text else deltas

    def _begin(self) -> bytes:
        """The first bytes; unless they begin events or JSON, the body is plain text."""
        head, self._head = self._head or b"", None
        if not head.startswith(_FRAMED):
            self._plain = codecs.getincrementaldecoder("utf-8")("replace")
        return head

    def _delta_of(self, value: Any) -> ChatDelta | tuple[ChatDelta, ...] | _End | None:
        if isinstance(value, str):
            return super()._delta_of(value)
        if not isinstance(value, Mapping):
            return None
        if value.get("status") == "errored" or (value.get("error") and "choices" not in value):
            raise _error_of(value.get("error"))
        if "choices" not in value and "code" in value:  # an envelope: {"code": 400, "msg": ...}
            if not is_success_code(value["code"]) and value["code"] not in (200, "200"):
                raise _error_of(value)
            data = value.get("data")
            return self._delta_of(data) if isinstance(data, Mapping) else None
        self.reply.note(value)
        choices = value.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], Mapping):
            return None
        choice = choices[0]
        if isinstance(choice.get("finish_reason"), str):
            self.reply.finish_reason = choice["finish_reason"]
        message = choice.get("delta")  # a stream's, or (none, or no object) a whole reply's
        if not (message and isinstance(message, Mapping)):
            message = choice.get("message")
        message = message if isinstance(message, Mapping) else {}
        piece = message.get("content")
        if isinstance(piece, list) or message.get("tool_calls") is not None:
            piece = self._gather(message, choice.get("text"))
        elif not isinstance(piece, str):
            piece = choice.get("text")
        if not isinstance(piece, str):
            return None
        return self._text_delta(piece)

    def _gather(self, message: Mapping[str, Any], text: object) -> object:
        """The text of a message with tool calls or a list of parts ("" for calls alone, else
        `text`, the choice's), keeping the calls, read as the reply ends. Their form is not
        documented: OpenAI's `tool_calls` (streamed by `index`) or Bedrock's `toolUse` parts."""
        listed, content = message.get("tool_calls"), message.get("content")
        pieces, texts = [], [content] if isinstance(content, str) else []
        for position, call in enumerate(listed if isinstance(listed, list) else ()):
            if isinstance(call, Mapping):
                index, tool = call.get("index"), call.get("function")
                tool = tool if isinstance(tool, Mapping) else {}
                key = (0, index if isinstance(index, int) else position)
                pieces.append((key, call.get("id"), tool.get("name"), tool.get("arguments")))
        for part in content if isinstance(content, list) else ():
            part = part if isinstance(part, Mapping) else {}
            if isinstance(part.get("text"), str):
                texts.append(part["text"])
            if isinstance(use := part.get("toolUse"), Mapping):
                key = (1, len(self._fragments) + len(pieces))  # each use a call of its own
                pieces.append((key, use.get("toolUseId"), use.get("name"), use.get("input")))
        for key, call_id, name, args in pieces:
            entry = self._fragments.setdefault(key, {"call_id": "", "name": "", "arguments": ""})
            entry["call_id"] = str(call_id or entry["call_id"])
            entry["name"] = str(name or entry["name"])
            if args is not None:  # the piece naming the tool may carry no arguments
                entry["arguments"] += args if isinstance(args, str) else json.dumps(args)
        if texts:
            return "".join(texts)
        return "" if pieces else text

    def _check_answered(self, deltas: list[ChatDelta]) -> None:
        fragments, self._fragments = sorted(self._fragments.items()), {}
        try:
            self.reply.tool_calls += [_tool_call(**entry) for _, entry in fragments]
        except MaviError as error:
            self._fail(error, deltas)  # the text before it is still handed out
        else:
            super()._check_answered(deltas)


def parse_vlm_reply(body: bytes, max_event_bytes: int | None = None) -> VlmReply:
    """A reply read whole (any of the shapes `VlmStreamDecoder` reads), as one `VlmReply`."""
    limit = len(body) + 1
    decoder = VlmStreamDecoder(max_event_bytes or limit, limit)
    deltas = decoder.feed(body) + decoder.finish()
    if decoder.error is not None:  # after text: a whole reply is not handed out in part
        raise decoder.error
    decoder.reply.text = "".join(delta.text for delta in deltas)
    return decoder.reply
