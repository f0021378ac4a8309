"""The shape of a JSON value: its keys, nesting and value types at every level, values left out.

`shape(value)` is a scalar's type name ("string", "number", "boolean", "null"), an object's
`{key: shape}` (a key that some items of the same list lack is optional: `"?key"`), or a list's
`[shape of its items, merged]` (`[]` for an empty list). `check_conforms(reply, sample)` says
where a reply's shape differs from a sample's: every key the sample always has must be there,
no key the sample lacks may be, and each value must have the sample's type.
"""

from __future__ import annotations

from typing import Any

Shape = Any


def shape(value: Any) -> Shape:
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_merge([shape(item) for item in value])] if value else []
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    raise TypeError(f"not a JSON value: {value!r}")


def _plain(key: str) -> str:
    return key.removeprefix("?")


def _merge(shapes: list[Shape]) -> Shape:
    """One shape for the items of a list: objects merged key by key (a key missing from some,
    or optional in some, is optional), lists by their items; scalars must agree."""
    if all(isinstance(item, dict) for item in shapes):
        keys = sorted({_plain(key) for item in shapes for key in item})
        merged: dict[str, Shape] = {}
        for key in keys:
            found = [item.get(key, item.get("?" + key)) for item in shapes]
            always = all(key in item for item in shapes)
            merged[key if always else "?" + key] = _merge([f for f in found if f is not None])
        return merged
    if all(isinstance(item, list) for item in shapes):
        items = [item[0] for item in shapes if item]
        return [_merge(items)] if items else []
    distinct = {repr(item) for item in shapes}
    assert len(distinct) == 1, f"a list mixes shapes: {sorted(distinct)}"
    return shapes[0]


def optional_keys(value: Shape) -> frozenset[str]:
    """The keys a shape marks optional anywhere (e.g. a keyframe's `endTime` and `text`)."""
    if isinstance(value, dict):
        found = {key[1:] for key in value if key.startswith("?")}
        return frozenset(found).union(*(optional_keys(item) for item in value.values()))
    if isinstance(value, list):
        return frozenset().union(*(optional_keys(item) for item in value))
    return frozenset()


def differences(
    reply: Shape, sample: Shape, where: str = "$", optional: frozenset[str] = frozenset()
) -> list[str]:
    """Where `reply` (a shape) does not conform to `sample` (a shape); a key in `optional` may
    be absent wherever it is."""
    if isinstance(sample, dict):
        if not isinstance(reply, dict):
            return [f"{where}: {_name(reply)} where the sample has an object"]
        found: list[str] = []
        sample_keys = {_plain(key): key for key in sample}
        reply_keys = {_plain(key): key for key in reply}
        for key, original in sample_keys.items():
            always = not original.startswith("?") and key not in optional
            if key not in reply_keys:
                if always:
                    found.append(f"{where}.{key}: missing")
                continue
            if reply_keys[key].startswith("?") and always:
                found.append(f"{where}.{key}: absent from some items, always in the sample")
            inner = f"{where}.{key}"
            found += differences(reply[reply_keys[key]], sample[original], inner, optional)
        found += [f"{where}.{key}: not in the sample" for key in reply_keys.keys() - sample_keys]
        return found
    if isinstance(sample, list):
        if not isinstance(reply, list):
            return [f"{where}: {_name(reply)} where the sample has a list"]
        if not sample or not reply:
            return []  # an empty list says nothing about its items
        return differences(reply[0], sample[0], where + "[]", optional)
    if reply != sample:
        return [f"{where}: {_name(reply)} where the sample has {_name(sample)}"]
    return []


def _name(item: Shape) -> str:
    if isinstance(item, dict):
        return "an object"
    if isinstance(item, list):
        return "a list"
    return f"a {item}"


def check_conforms(reply: Any, *samples: Any, optional: frozenset[str] = frozenset()) -> None:
    """Assert that the JSON value `reply` has the shape of the JSON values `samples` (several
    samples of one reply: a key that one of them lacks is optional; so is a key of
    `optional`, see `optional_keys`)."""
    found = differences(shape(reply), shape(list(samples))[0], optional=optional)
    assert not found, "the reply's shape differs from the sample's:\n" + "\n".join(found)
