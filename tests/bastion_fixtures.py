"""The Bastion-enabled variant (staging with bastion.enabled), rendered once per session for the Bastion tests."""

from __future__ import annotations

import copy

import pytest
import yaml

import stacks
from brickwall import project
from brickwall.engine import Recording
from components.spec import EnvironmentSpec


@pytest.fixture(scope="session")
def bastion_env(tmp_path_factory: pytest.TempPathFactory) -> tuple[Recording, EnvironmentSpec]:
    data = copy.deepcopy(stacks.load("staging").model_dump(mode="json"))
    data["bastion"]["enabled"] = True
    path = tmp_path_factory.mktemp("staging-bastion") / "spec.yaml"
    path.write_text(yaml.safe_dump(data))
    return project.run("staging", spec_file=path), stacks.load_file(path)
