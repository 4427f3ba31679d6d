"""Reading TOML files and checking their fields: one ``ValueError`` per problem, naming the file,
section and key and the reason (used by configs and sessions)."""

from __future__ import annotations

import math
import re
import stat
from collections.abc import Mapping
from pathlib import Path

import tomllib

COLOR_RE = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")
#: largest TOML file read (a config is a few kB; anything bigger is not one)
MAX_CONFIG_BYTES = 1 << 20


def read_toml(path: Path, what: str, max_bytes: int = MAX_CONFIG_BYTES) -> dict:
    """Parse a TOML file with every failure as one ``ValueError`` naming the file and the reason:
    missing, not a regular file (a folder, a FIFO), too large, not UTF-8 (a BOM is accepted),
    a syntax error, or nested too deeply."""
    try:
        info = path.stat()
    except OSError as exc:
        raise ValueError(f"{path}: cannot read {what} file ({exc.strerror or exc})") from None
    if not stat.S_ISREG(info.st_mode):
        raise ValueError(f"{path}: not a regular file, so not a {what} file")
    if info.st_size > max_bytes:
        raise ValueError(f"{path}: {info.st_size} bytes is too large for a {what} file (limit {max_bytes})")
    try:
        with open(path, "rb") as handle:
            raw = handle.read(max_bytes + 1)
        text = raw.decode("utf-8-sig")
    except OSError as exc:
        raise ValueError(f"{path}: cannot read {what} file ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: {what} file is not UTF-8 text (byte {exc.start}: {exc.reason})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        if what == "config":
            raise ValueError(f"{path}: TOML syntax error: {exc}") from None
        raise ValueError(f"{path}: corrupt {what} file (TOML syntax error: {exc})") from None
    except RecursionError:
        raise ValueError(f"{path}: {what} file is nested too deeply to be a {what}") from None


def table_of(raw, section: str) -> Mapping:
    if not isinstance(raw, Mapping):
        raise ValueError(f"{section} must be a table, got {type(raw).__name__} {raw!r}")
    return raw


def check_keys(raw: Mapping, allowed: set, section: str) -> None:
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise ValueError(f"{section}: unknown key(s) {unknown}; valid keys: {sorted(allowed)}")


def typed_value(raw: Mapping, key: str, kind: type, section: str, default, *, low=None, high=None, optional=False):
    if key not in raw:
        return default
    if raw[key] is None:
        if optional:
            return None
        raise ValueError(f"{section} key '{key}' must not be empty")
    value = raw[key]
    names = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}
    ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value, ok = float(value), True
    if not ok:
        raise ValueError(f"{section} key '{key}' must be {names[kind]}, got {value!r}")
    if kind is float and not math.isfinite(value):
        raise ValueError(f"{section} key '{key}' must be finite, got {value!r}")
    if low is not None and value < low:
        raise ValueError(f"{section} key '{key}' = {value!r} is below its minimum {low}")
    if high is not None and value > high:
        raise ValueError(f"{section} key '{key}' = {value!r} is above its maximum {high}")
    return value


def color_value(raw: Mapping, section: str) -> str | None:
    value = typed_value(raw, "color", str, section, None, optional=True)
    if value is not None and not COLOR_RE.match(value):
        raise ValueError(f"{section} key 'color' must be a hex colour such as \"#1f77b4\", got {value!r}")
    return value


def choice_value(raw: Mapping, key: str, choices, section: str, default):
    value = typed_value(raw, key, str, section, default)
    if value not in choices:
        raise ValueError(f"{section} key '{key}' must be one of {list(choices)}, got {value!r}")
    return value
