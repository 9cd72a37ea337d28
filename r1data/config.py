"""Configs that come from recipes: defaults < recipe file < command-line flags; unknown keys are an error.

A config is a dataclass whose fields carry `metadata={"help": ...}` (as TRL's configs do). A recipe is a
YAML mapping of field names; flags are `--field-name VALUE` (or `--field_name=VALUE`, `--flag`,
`--no-flag` for booleans). Values are checked against the field's type, so a typo or a wrong type
stops the run before any model is loaded, with the file, key and fix in the message.
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import json
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

from r1data.errors import ConfigError

C = TypeVar("C")


def setting(default: Any = dataclasses.MISSING, help: str = "", **meta: Any) -> Any:  # noqa: A002
    """A config field with its help text (and, for the CLI, `flag`, `sep`, `resume_safe`, `cli`). A list or dict
    default is copied per instance. No default: the setting is required."""
    metadata = {"help": help, **meta}
    if isinstance(default, (list, dict)):
        value = default
        return dataclasses.field(default_factory=lambda: type(value)(value), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def field_types(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls) if f.init}


def settings_of(cls: type) -> list[dataclasses.Field]:
    """The settings of a config class, in declaration order (the CLI's options follow it)."""
    return [f for f in dataclasses.fields(cls) if f.init]


def resume_safe(cls: type) -> set[str]:
    """Settings a resumed run may change (how it runs, not what it computes)."""
    return {f.name for f in dataclasses.fields(cls) if f.metadata.get("resume_safe")}


def _unknown(key: str, known: list[str], where: str, origin: str | None = None) -> ConfigError:
    close = difflib.get_close_matches(key, known, n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    of = f" (the settings are {origin})" if origin else ""
    listed = f"Known settings: {', '.join(sorted(known))}." if len(known) <= 40 else f"{len(known)} settings are known."
    return ConfigError(f"{where}: unknown setting '{key}'{of}.{hint} {listed}")


def _parts(tp: Any) -> tuple[Any, bool]:
    """(the type without None, whether None is allowed)."""
    args = typing.get_args(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return (rest[0] if len(rest) == 1 else typing.Union[tuple(rest)]), True  # noqa: UP007
    return tp, False


def coerce(value: Any, tp: Any, key: str, where: str) -> Any:
    """`value` (from YAML, or a string from the command line) as type `tp`, or a ConfigError."""
    base, optional = _parts(tp)
    if value is None or (isinstance(value, str) and value.lower() in ("none", "null") and base is not str):
        if optional:
            return None
        raise ConfigError(f"{where}: '{key}' cannot be empty")
    origin = typing.get_origin(base)
    bad = ConfigError(f"{where}: '{key}' must be {_describe(tp)}, got {value!r}")
    if base is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "yes", "1", "false", "no", "0"):
            return value.lower() in ("true", "yes", "1")
        raise bad
    if base in (int, float):
        usable = isinstance(value, (int, float, str)) and not isinstance(value, bool)
        if not usable or (base is int and isinstance(value, float)):
            raise bad
        try:
            return base(value)
        except ValueError:
            raise bad from None
    if base is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        raise bad
    if origin is list:
        (item,) = typing.get_args(base)
        if isinstance(value, str):
            value = _yaml_value(value) if value.strip().startswith("[") else [v for v in value.split(",") if v.strip()]
        if not isinstance(value, list):
            raise bad
        return [coerce(v.strip() if isinstance(v, str) else v, item, f"{key}[{i}]", where) for i, v in enumerate(value)]
    if origin is dict or base is dict:
        if isinstance(value, str):
            value = _yaml_value(value)
        if not isinstance(value, dict):
            raise bad
        return dict(value)
    if origin in (typing.Union, types.UnionType):  # TRL's `int | str`, `dict | str`, `str | bool`: the first that fits
        for member in sorted(typing.get_args(base), key=_union_rank):
            try:
                return coerce(value, member, key, where)
            except ConfigError:
                continue
        raise bad
    if origin is typing.Literal:
        if value in typing.get_args(base):
            return value
        raise bad
    if isinstance(base, type) and issubclass(base, enum.Enum):
        try:
            return base(value).value
        except ValueError:
            raise ConfigError(
                f"{where}: '{key}' must be one of {', '.join(str(m.value) for m in base)}, got {value!r}"
            ) from None
    if base is typing.Any:
        return value
    raise bad


def _union_rank(tp: Any) -> int:
    """The order a union's members are tried in: the strictest first, text last."""
    origin = typing.get_origin(tp)
    if tp is bool:
        return 0
    if tp in (int, float):
        return 1 + (tp is float)
    if origin is typing.Literal:
        return 3
    if origin is list or origin is dict or tp is dict:
        return 4
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return 5
    return 7 if tp is str else 6


def _describe(tp: Any) -> str:
    base, optional = _parts(tp)
    origin = typing.get_origin(base)
    if origin is list:
        name = f"a list of {_describe(typing.get_args(base)[0])} values (YAML list, or comma-separated)"
    elif origin is dict or base is dict:
        name = "a mapping"
    else:
        name = {bool: "true or false", int: "an integer", float: "a number", str: "text"}.get(base, str(base))
    return f"{name} or null" if optional else name


def _yaml_value(text: str) -> Any:
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"cannot read {text!r}: {exc}") from None


def read_yaml(path: str | Path) -> dict:
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: recipe not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc}). Fix the file and run again.") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a recipe must be a YAML mapping of settings, got {type(data).__name__}")
    return data


def parse_flags(args: list[str], cls: type, where: str = "command line") -> dict[str, Any]:
    """`--learning-rate 1e-5 --no-bf16 --reward-funcs accuracy,format` as {field: raw value}."""
    types_ = field_types(cls)
    out: dict[str, Any] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--") or arg == "--":
            raise ConfigError(f"{where}: unexpected argument '{arg}'. Settings are given as --name VALUE.")
        name, eq, inline = arg[2:].partition("=")
        key = name.replace("-", "_")
        negated = False
        if key not in types_ and key.startswith("no_") and key[3:] in types_:
            key, negated = key[3:], True
        if key not in types_:
            raise _unknown(key, list(types_), where, getattr(cls, "SETTINGS_ORIGIN", None))
        is_bool = _parts(types_[key])[0] is bool
        if negated:
            if not is_bool or eq:
                raise ConfigError(f"{where}: --no-{name[3:]} only applies to true/false settings")
            out[key] = False
        elif eq:
            out[key] = inline
        elif is_bool and (i + 1 >= len(args) or args[i + 1].startswith("--")):
            out[key] = True
        else:
            if i + 1 >= len(args):
                raise ConfigError(f"{where}: --{name} needs a value")
            i += 1
            out[key] = args[i]
        i += 1
    return out


def build(cls: type[C], *layers: tuple[dict[str, Any], str]) -> C:
    """An instance of `cls` from its defaults and the given (values, where) layers, later ones winning."""
    types_ = field_types(cls)
    merged: dict[str, Any] = {}
    for values, where in layers:
        for key, value in values.items():
            if key not in types_:
                raise _unknown(key, list(types_), where, getattr(cls, "SETTINGS_ORIGIN", None))
            merged[key] = coerce(value, types_[key], key, where)
    try:
        return cls(**merged)
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(str(exc)) from None


def check(condition: bool, name: str, message: str) -> None:
    """For `__post_init__`: a ConfigError naming the setting and the fix when condition is false."""
    if not condition:
        raise ConfigError(f"{name} (--{name.replace('_', '-')}): {message}")


def load_recipe(
    cls: type[C], recipe: str | Path | None = None, overrides: dict[str, Any] | None = None, ignore: tuple = ()
) -> C:
    """defaults < recipe < overrides. `ignore` names recipe keys that are not settings (e.g. `task`)."""
    layers = []
    if recipe is not None:
        data = {k: v for k, v in read_yaml(recipe).items() if k not in ignore}
        layers.append((data, str(recipe)))
    if overrides:
        layers.append((overrides, "command line"))
    return build(cls, *layers)


def settings_help(cls: type) -> str:
    """One line per setting: name, default, help (for --help epilogs and the README)."""
    lines = []
    for f in dataclasses.fields(cls):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        lines.append(f"--{f.name.replace('_', '-')} ({default!r}): {f.metadata.get('help', '')}")
    return "\n".join(lines)


def as_dict(config: Any) -> dict[str, Any]:
    return dataclasses.asdict(config)


def _listed_values(cls: type, values: dict) -> dict:
    """Values as a command line or a recipe gives them, as the config takes them (lists split at their separator)."""
    out = {}
    for f in settings_of(cls):
        if f.name not in values:
            continue
        value = values[f.name]
        sep = f.metadata.get("sep")
        if sep and isinstance(value, list):
            value = [part.strip() for item in value for part in str(item).split(sep) if part.strip()]
        out[f.name] = value
    return out


def command_flags(config: Any) -> list[str]:
    """The options that give `config` on a command line: each setting that differs from its default."""
    flags: list[str] = []
    for f in settings_of(type(config)):
        value = getattr(config, f.name)
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
            default = f.default_factory()  # type: ignore[misc]
        else:
            default = dataclasses.MISSING
        if value == default or value is None:
            continue
        flag = f.metadata.get("flag") or "--" + f.name.replace("_", "-")
        if isinstance(value, bool):
            flags.append(flag if value else f"--no-{flag[2:]}")
        elif isinstance(value, (list, tuple)):
            flags += [a for v in value for a in (flag, str(v))]
        elif isinstance(value, dict):
            flags += [flag, json.dumps(value)]
        else:
            flags += [flag, str(value)]
    return flags


def build_config(cls: type[C], values: dict, where: str = "command line") -> C:
    """A config from option values (the CLI's, or a pipeline step's), each checked and named by `where` when bad."""
    return build(cls, (_listed_values(cls, values), where))
