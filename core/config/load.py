"""Reading a profile: ``config/<name>.json`` (or a JSON file of your own) into a
``PlatformConfig``, rejecting unknown keys and wrong types by name.
"""

from __future__ import annotations

import json
import os
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any, Literal, get_args, get_origin, get_type_hints

from core.config.platform import PlatformConfig
from core.config.sections import ConfigError

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"


def _build(cls: type, data: Any, path: str) -> Any:
    """Build a (nested) frozen dataclass from JSON, rejecting unknown keys by name."""
    if not isinstance(data, dict):
        raise ConfigError(f"{path or 'profile'} must be an object, got {type(data).__name__}")
    hints = get_type_hints(cls)
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(
            f"unknown key(s) {', '.join(unknown)} in {path or 'profile'}; "
            f"expected some of {', '.join(sorted(known))}"
        )
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        hint = hints[name]
        where = f"{path}.{name}" if path else name
        if is_dataclass(hint):
            kwargs[name] = _build(hint, value, where)  # type: ignore[arg-type]
        else:
            kwargs[name] = _coerce(hint, value, where)
    try:
        return cls(**kwargs)
    except TypeError as err:  # a required field missing
        raise ConfigError(f"{path or 'profile'}: {err}") from err


def _coerce(hint: Any, value: Any, where: str) -> Any:
    origin = get_origin(hint)
    if origin is Literal:
        allowed = get_args(hint)
        if value not in allowed:
            raise ConfigError(
                f"{where} must be one of {', '.join(map(repr, allowed))}, got {value!r}"
            )
        return value
    if origin is tuple:
        if not isinstance(value, list):
            raise ConfigError(f"{where} must be a list")
        return tuple(value)
    if origin is dict:
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise ConfigError(f"{where} must be an object of strings")
        return dict(value)
    expected = {int: (int,), float: (int, float), str: (str,), bool: (bool,)}.get(hint)
    if expected is not None:
        if isinstance(value, bool) and hint is not bool:
            raise ConfigError(f"{where} must be a {hint.__name__}, got a boolean")
        if not isinstance(value, expected):
            raise ConfigError(f"{where} must be a {hint.__name__}, got {value!r}")
        return float(value) if hint is float else value
    return value


def config_from_dict(data: dict[str, Any]) -> PlatformConfig:
    result: PlatformConfig = _build(PlatformConfig, data, "")
    return result


def available_profiles() -> list[str]:
    return sorted(p.stem for p in CONFIG_DIR.glob("*.json"))


def load_profile(name: str, overrides: dict[str, Any] | None = None) -> PlatformConfig:
    """Read ``config/<name>.json``, or ``name`` itself when it is the path of a JSON file
    (a profile of your own, outside the checkout), and apply top-level overrides (account,
    region). A file's profile name defaults to its stem."""
    given = Path(name).expanduser()
    path = given if name.endswith(".json") or os.sep in name else CONFIG_DIR / f"{name}.json"
    if not path.is_file():
        raise ConfigError(
            f"no profile {name!r}: choose one of {', '.join(available_profiles())} "
            f"(files in {CONFIG_DIR}) or give the path of a profile JSON file"
        )
    name = path.stem
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ConfigError(f"{path}: not valid JSON ({err})") from err
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a profile is a JSON object, got {type(data).__name__}")
    data.setdefault("profile", name)
    for key, value in (overrides or {}).items():
        if value is not None:
            data[key] = value
    return config_from_dict(data)
