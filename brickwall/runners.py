"""Which stacks CI must preview and update from a private network (`python -m brickwall runners`).

Derived from each stack's spec (`reach.private_workspace`: public network access Disabled, which the staging and
prod floors require), never from a list kept in the workflows. `--json` prints one compact line, a list of
`{"stack", "tier", "private"}` objects, that a workflow feeds to `strategy.matrix.include` and to `runs-on`
(`.github/workflows/preview.yml`, `ephemeral.yml`): a private stack's job runs on the labels in the repository
variable PRIVATE_RUNNER_LABELS, a public one on a GitHub-hosted runner.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from brickwall.reach import private_workspace, why
from components.spec import EnvironmentSpec


def rows(specs: Iterable[EnvironmentSpec]) -> list[dict[str, Any]]:
    """Per spec: its stack, tier, whether its workspace is private, and why."""
    return [{"stack": spec.name, "tier": spec.tier.value, "private": private_workspace(spec), "why": why(spec)}
            for spec in specs]
