"""Reading a config file: a safe YAML loader that refuses duplicate keys, bounded in
size, alias expansion and depth (a "billion laughs" file is refused, not expanded), and the
``--set KEY.PATH=VALUE`` overrides (values parsed as YAML)."""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

from .errors import ConfigError, InputError

__all__ = ["MAX_CONFIG_BYTES", "apply_overrides", "parse_yaml", "read_config",
           "read_text_file"]


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a mapping with the same key twice (PyYAML keeps the last)."""

    def construct_mapping(self, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (first on line {seen[key] + 1})",
                    key_node.start_mark)
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


# A config is a few kilobytes; these bound what a hostile or broken one can cost.
MAX_CONFIG_BYTES = 1 << 20
MAX_VALUES = 100_000        # values after alias expansion ("billion laughs")
MAX_DEPTH = 64              # nesting levels


def _children(node) -> list:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return list(node.value) if isinstance(node, yaml.SequenceNode) else []


def _check_expansion(root, source: str) -> None:
    """Count the values the node graph expands to (aliases share nodes) and its depth,
    without expanding it (iterative, memoized): refuse bombs, cycles and deep nesting."""
    size: dict[int, tuple[int, int]] = {}
    visiting: set[int] = set()
    stack = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            kids = [size[id(k)] for k in _children(node)]
            total = 1 + sum(n for n, _ in kids)
            depth = 1 + max((d for _, d in kids), default=0)
            visiting.discard(key)
            size[key] = (total, depth)
            if total > MAX_VALUES:
                raise InputError(f"{source}: YAML aliases expand to more than {MAX_VALUES} "
                                 "values (a config is a few kilobytes)")
            if depth > MAX_DEPTH:
                raise InputError(f"{source}: nested deeper than {MAX_DEPTH} levels")
        elif key in visiting:
            raise InputError(f"{source}: a YAML alias refers to itself (recursive value)")
        elif key not in size:
            visiting.add(key)
            stack.append((node, True))
            stack.extend((k, False) for k in _children(node) if id(k) not in size)


def parse_yaml(text: str, source: str = "<config>"):
    """Parse YAML text safely; a syntax error or duplicate key becomes one InputError line,
    and so do alias bombs, recursive aliases and deep nesting (checked on the node graph
    before anything is constructed)."""
    if len(text) > MAX_CONFIG_BYTES:
        raise InputError(f"{source}: {len(text)} characters; a config is at most "
                         f"{MAX_CONFIG_BYTES} (is this a config?)")
    try:
        loader = _UniqueKeyLoader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None
            _check_expansion(node, source)
            return loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(f"{where}: invalid YAML: {problem[:200]}") from None
    except RecursionError:    # the composer recurses per level, before our depth check
        raise InputError(f"{source}: nested deeper than {MAX_DEPTH} levels") from None


def read_text_file(path: Path, what: str, limit: int = MAX_CONFIG_BYTES) -> str:
    """A small UTF-8 text file (a config): a regular file (not /dev/zero, a FIFO), at most
    ``limit`` bytes, UTF-8 (a BOM is skipped) — else one InputError line."""
    p = Path(path)
    try:
        if not p.exists():
            raise InputError(f"{p}: {what} not found")
        if not p.is_file():
            raise InputError(f"{p}: expected a regular file for the {what} (a device, "
                             "folder or pipe is not one)")
        with p.open("rb") as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise InputError(f"{p}: cannot read the {what} ({exc.strerror})") from None
    if len(data) > limit:
        raise InputError(f"{p}: larger than {limit} bytes; expected a {what}")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        utf16 = data[:2] in (b"\xff\xfe", b"\xfe\xff")
        hint = " (it looks like UTF-16: save it as UTF-8)" if utf16 else ""
        raise InputError(f"{p}: the {what} is not UTF-8 text (byte 0x{data[exc.start]:02x} "
                         f"at offset {exc.start}){hint}") from None


def read_config(path: str | Path) -> dict:
    """Read a config file into a dict (safe loader, duplicate keys rejected)."""
    p = Path(path)
    raw = parse_yaml(read_text_file(p, "config file"), str(p))
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise InputError(f"{p}: expected a YAML mapping at the top level, got {type(raw).__name__}")
    return raw


def apply_overrides(raw: dict, sets: list[str] | dict | None) -> dict:
    """A copy of ``raw`` with ``KEY.PATH=VALUE`` overrides applied (values parsed as YAML)."""
    out = copy.deepcopy(raw)
    items = sets.items() if isinstance(sets, dict) else [_split_set(s) for s in sets or []]
    for key, value in items:
        parts = str(key).split(".")
        node = out
        for i, part in enumerate(parts[:-1]):
            nxt = _child(node, part, ".".join(parts[:i + 1]), create=True)
            node = nxt
        _assign(node, parts[-1], value, str(key))
    return out


def _split_set(s: str):
    if "=" not in s:
        raise ConfigError("--set", "KEY.PATH=VALUE", s)
    key, text = s.split("=", 1)
    return key.strip(), parse_yaml(text, f"--set {key.strip()}")


def _child(node, part, path, create):
    if isinstance(node, list):
        if not part.isdigit() or int(part) >= len(node):
            raise ConfigError(path, f"an index below {len(node)}", part)
        return node[int(part)]
    if not isinstance(node, dict):
        raise ConfigError(path, "a mapping to set a key in", node)
    if part not in node or node[part] is None:
        node[part] = {}
    return node[part]


def _assign(node, part, value, path):
    if isinstance(node, list):
        if not part.isdigit() or int(part) >= len(node):
            raise ConfigError(path, f"an index below {len(node)}", part)
        node[int(part)] = value
    elif isinstance(node, dict):
        node[part] = value
    else:
        raise ConfigError(path, "a mapping to set a key in", node)
