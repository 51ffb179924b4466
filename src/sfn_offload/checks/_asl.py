"""An ASL definition as the check walks it: scopes of states, each state with its JSON pointer.

A *scope* is one ``StartAt``/``States`` block: the state machine, a Map's ``ItemProcessor``
(or legacy ``Iterator``) or one of a Parallel's ``Branches``. :func:`parse` validates what the
rules rely on and raises :class:`DefinitionError` naming the JSON pointer of the first problem.

>>> machine = parse({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}})
>>> [(s.path, s.type, s.language) for s in machine.walk()]
[('/States/A', 'Pass', 'JSONPath')]
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final, Literal

from ..errors import SfnOffloadError

__all__ = ["DefinitionError", "Scope", "State", "load", "parse"]

Language = Literal["JSONPath", "JSONata"]

STATE_TYPES: Final = frozenset(
    {"Task", "Pass", "Choice", "Wait", "Succeed", "Fail", "Map", "Parallel"}
)
_PATH_FIELDS: Final = ("InputPath", "OutputPath", "ResultPath", "ItemsPath")
_OBJECT_FIELDS: Final = ("Parameters", "ItemSelector", "ResultSelector")
_LAMBDA_ARN: Final = re.compile(r"arn:aws[a-z\-]*:lambda:[a-z0-9\-]+:\d{12}:function:.+")
_INVOKE: Final = re.compile(r"arn:aws[a-z\-]*:states:::lambda:invoke(\.waitForTaskToken)?")
#: A whole-string placeholder (``${name}``), as the local kit, SAM and CDK substitute.
_PLACEHOLDER: Final = re.compile(r"\$\{[^}]+\}")


class DefinitionError(SfnOffloadError, ValueError):
    """The definition is not JSON, or not a state machine the check can read (exit code 2)."""


def pointer(*parts: str | int) -> str:
    """A JSON pointer (RFC 6901) from its parts.

    >>> pointer("States", "a/b", "Next")
    '/States/a~1b/Next'
    """
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


@dataclass(eq=False)
class Scope:
    """One ``StartAt``/``States`` block."""

    path: str  # the pointer of the block ("" for the state machine)
    kind: Literal["machine", "map", "branch"]
    start: str
    owner: State | None  # the Map or Parallel state holding it
    states: dict[str, State] = field(default_factory=dict)

    def walk(self) -> Iterator[State]:
        """Every state of this scope and of the scopes inside it, in definition order."""
        for state in self.states.values():
            yield state
            for child in state.children:
                yield from child.walk()


@dataclass(eq=False)
class State:
    """One state: its name, pointer, body, query language and the scope it belongs to."""

    name: str
    path: str
    body: Mapping[str, Any]
    language: Language
    scope: Scope
    children: list[Scope] = field(default_factory=list)

    @property
    def type(self) -> str:
        return str(self.body["Type"])

    @property
    def is_lambda(self) -> bool:
        """A Task that invokes a Lambda function (plain ARN, ``lambda:invoke``, placeholder)."""
        return self.type == "Task" and lambda_kind(self.body.get("Resource")) is not None

    @property
    def is_invoke(self) -> bool:
        """A ``lambda:invoke`` Task: its event is the ``Payload`` argument."""
        return self.type == "Task" and lambda_kind(self.body.get("Resource")) == "invoke"

    @property
    def distributed(self) -> bool:
        """A Map whose iterations run as child executions."""
        processor = self.body.get("ItemProcessor") or {}
        config = processor.get("ProcessorConfig") or {}
        return self.type == "Map" and config.get("Mode") == "DISTRIBUTED"

    def scope_walk(self) -> Iterator[State]:
        """Every state inside this one's scopes (a Map's iteration, a Parallel's branches)."""
        for child in self.children:
            yield from child.walk()

    def successors(self) -> list[str]:
        """States this one may go to next (``Next``, a Choice's rules and Default)."""
        body = self.body
        rules = body.get("Choices", []) if self.type == "Choice" else []
        nexts = [r.get("Next") for r in rules] + [body.get("Next"), body.get("Default")]
        return [n for n in nexts if isinstance(n, str)]

    def catchers(self) -> list[Mapping[str, Any]]:
        """The ``Catch`` rules (each has a ``Next``)."""
        return list(self.body.get("Catch", []))


def lambda_kind(resource: object) -> Literal["arn", "invoke"] | None:
    """How a Task's ``Resource`` invokes Lambda, or None for other services.

    >>> lambda_kind("${price}"), lambda_kind("arn:aws:states:::lambda:invoke")
    ('arn', 'invoke')
    """
    if not isinstance(resource, str):
        return None
    if _INVOKE.fullmatch(resource):
        return "invoke"
    if _LAMBDA_ARN.fullmatch(resource) or _PLACEHOLDER.fullmatch(resource):
        return "arn"
    return None


def load(source: Mapping[str, Any] | str | Path | IO[str]) -> dict[str, Any]:
    """A definition from a dict, JSON text, a file path (a string not starting with ``{``) or
    an open text file."""
    if isinstance(source, Mapping):
        return dict(source)
    try:
        if isinstance(source, str) and source.lstrip().startswith("{"):
            text = source
        elif isinstance(source, str | Path):
            text = Path(source).read_text(encoding="utf-8")
        else:
            text = source.read()
        loaded = json.loads(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise DefinitionError(f"cannot read the definition: {exc}") from exc
    except ValueError as exc:
        raise DefinitionError(f"not valid JSON: {exc}") from exc
    if not isinstance(loaded, dict):
        raise DefinitionError("a state machine definition is a JSON object")
    return loaded


def parse(definition: Mapping[str, Any]) -> Scope:
    """The state machine's scope, validated (see the module docstring)."""
    if not isinstance(definition, Mapping):
        raise DefinitionError("a state machine definition is a JSON object")
    default = _language(definition, "", "JSONPath")
    return _scope(definition, "", "machine", None, default)


def _language(body: Mapping[str, Any], where: str, default: Language) -> Language:
    value = body.get("QueryLanguage", default)
    if value not in ("JSONPath", "JSONata"):
        raise DefinitionError(f"{where}/QueryLanguage: expected JSONPath or JSONata, got {value!r}")
    return value  # type: ignore[no-any-return]


def _scope(
    body: Mapping[str, Any],
    where: str,
    kind: Literal["machine", "map", "branch"],
    owner: State | None,
    default: Language,
) -> Scope:
    states, start = body.get("States"), body.get("StartAt")
    if not isinstance(states, Mapping) or not states:
        hint = " (is this a state machine definition?)" if kind == "machine" else ""
        raise DefinitionError(f"{where}/States: expected a non-empty object{hint}")
    if not isinstance(start, str) or start not in states:
        raise DefinitionError(f"{where}/StartAt: {start!r} is not one of the states")
    scope = Scope(where, kind, start, owner)
    for name, state_body in states.items():
        scope.states[name] = _state(scope, name, state_body, default)
    for state in scope.states.values():
        _check_targets(state)
    return scope


def _state(scope: Scope, name: str, body: object, default: Language) -> State:
    where = scope.path + pointer("States", name)
    if not isinstance(body, Mapping):
        raise DefinitionError(f"{where}: a state is an object")
    language = _language(body, where, default)
    _check_fields(body, where, language)
    state = State(name, where, body, language, scope)
    state.children = _children(state, default)
    return state


def _check_fields(body: Mapping[str, Any], where: str, language: Language) -> None:
    """The types of the fields the rules read (ASL's own validation goes further)."""
    kind = body.get("Type")
    if not isinstance(kind, str) or kind not in STATE_TYPES:
        raise DefinitionError(f"{where}/Type: unknown state type {kind!r}")
    expected: list[tuple[str, type | tuple[type, ...], str]] = [
        *((key, (str, type(None)), "a path or null") for key in _PATH_FIELDS),
        ("Next", str, "a state name"),
        ("Default", str, "a state name"),
        ("End", bool, "true or false"),
        ("Comment", str, "a string"),
    ]
    if language == "JSONPath":
        expected += [(key, Mapping, "an object") for key in _OBJECT_FIELDS]
    for key, types, what in expected:
        if key in body and not isinstance(body[key], types):
            raise DefinitionError(f"{where}/{key}: expected {what}")
    processor = body.get("ItemProcessor")
    if isinstance(processor, Mapping) and not isinstance(
        processor.get("ProcessorConfig", {}), Mapping
    ):
        raise DefinitionError(f"{where}/ItemProcessor/ProcessorConfig: expected an object")


def _children(state: State, default: Language) -> list[Scope]:
    body, where = state.body, state.path
    if state.type == "Map":
        key = "ItemProcessor" if "ItemProcessor" in body else "Iterator"
        if not isinstance(body.get(key), Mapping):
            raise DefinitionError(f"{where}/ItemProcessor: a Map needs an object here")
        return [_scope(body[key], f"{where}/{key}", "map", state, default)]
    if state.type == "Parallel":
        branches = body.get("Branches")
        if not isinstance(branches, list) or not branches:
            raise DefinitionError(f"{where}/Branches: expected a non-empty list")
        places = [f"{where}/Branches/{i}" for i in range(len(branches))]
        return [
            _scope(_object(b, at), at, "branch", state, default)
            for b, at in zip(branches, places, strict=True)
        ]
    return []


def _object(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise DefinitionError(f"{where}: expected an object")
    return value


def _check_targets(state: State) -> None:
    body = state.body
    rules: object = body.get("Choices") if state.type == "Choice" else []
    if not isinstance(rules, list) or (state.type == "Choice" and not rules):
        raise DefinitionError(f"{state.path}/Choices: expected a non-empty list")
    catch = body.get("Catch", [])
    if not isinstance(catch, list):
        raise DefinitionError(f"{state.path}/Catch: expected a list")
    for key, items in (("Choices", rules), ("Catch", catch)):
        for i, rule in enumerate(items):
            target = _object(rule, f"{state.path}/{key}/{i}").get("Next")
            if not isinstance(target, str) or target not in state.scope.states:
                raise DefinitionError(
                    f"{state.path}/{key}/{i}/Next: {target!r} is not one of the states"
                )
    for target in state.successors():
        if target not in state.scope.states:
            raise DefinitionError(f"{state.path}: Next state {target!r} does not exist")
    ends = body.get("End") is True or state.type in ("Succeed", "Fail", "Choice")
    if not ends and not isinstance(body.get("Next"), str):
        raise DefinitionError(f"{state.path}: needs Next or End")
