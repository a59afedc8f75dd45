"""Spec problems: a field path and a reason, reported all at once through pydantic."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NoReturn

from pydantic import ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError


@dataclass(frozen=True)
class Problem:
    path: tuple[str | int, ...]
    reason: str

    @property
    def dotted(self) -> str:
        return ".".join(str(p) for p in self.path) or "(spec)"

    def __str__(self) -> str:
        return f"{self.dotted}: {self.reason}"


def raise_problems(problems: Sequence[Problem]) -> NoReturn:
    """Raise one ValidationError carrying every problem at its own path (pydantic nests the paths)."""
    raise ValidationError.from_exception_data(
        "EnvironmentSpec",
        [
            InitErrorDetails(type=PydanticCustomError("brickwall", "{reason}", {"reason": p.reason}), loc=p.path, input=None)
            for p in problems
        ],
    )


def problems_from(error: ValidationError) -> list[Problem]:
    """Turn pydantic's errors into Problems with readable reasons."""
    out = []
    for err in error.errors(include_url=False):
        reason = err["msg"]
        if err["type"] == "extra_forbidden":
            reason = "unknown field (not part of the spec)"
        elif reason.startswith("Value error, "):
            reason = reason.removeprefix("Value error, ")
        out.append(Problem(tuple(err["loc"]), reason))
    return out


class SpecError(Exception):
    """An invalid spec; `problems` lists every problem found."""

    def __init__(self, source: str, problems: Iterable[Problem]):
        self.source = source
        self.problems = list(problems)
        super().__init__(self.render())

    def render(self) -> str:
        lines = [f"invalid environment spec ({self.source}): {len(self.problems)} problem(s)"]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)
