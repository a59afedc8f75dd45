"""Run the real project program (__main__.py) offline for one stack."""

from __future__ import annotations

import json
import runpy
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

import stacks
from brickwall.engine import BrickwallMocks, Recording, record
from components.spec import SpecError
from stacks import config as needs
from stacks.config import SECRET_KEYS

PROJECT_DIR = Path(__file__).resolve().parent.parent
# 32 characters: a value that passes the checks real secrets meet (an oauth2-proxy cookie secret is 16, 24 or 32 bytes).
SECRET_CONFIG_PLACEHOLDER = "offline-placeholder-secret-value"
PLAIN_CONFIG_PLACEHOLDER = "00000000-0000-0000-0000-00000000c0de"


def project_name(project_dir: Path | None = None) -> str:
    project_dir = project_dir or PROJECT_DIR
    return str(yaml.safe_load((project_dir / "Pulumi.yaml").read_text())["name"])


class StackConfigError(Exception):
    """stacks/Pulumi.<stack>.yaml cannot be used: not YAML, or its `config` is not a mapping. Invalid input (exit 1)."""


def read_stack_file(path: Path) -> dict[str, Any]:
    """The `config` mapping of a stack file ({} when the file or the key is absent); StackConfigError otherwise."""
    if not path.exists():
        return {}
    try:
        doc = yaml.safe_load(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise StackConfigError(f"{path.name}: not a valid YAML stack file: {exc}") from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise StackConfigError(f"{path.name}: a stack file holds one mapping with a `config:` key, not {type(doc).__name__}")
    config = doc.get("config")
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise StackConfigError(f"{path.name}: `config` must be a mapping of key: value, not {type(config).__name__}")
    return config


def plaintext_secrets(stack: str, project_dir: Path | None = None) -> list[str]:
    """Keys that must be secrets but sit in stacks/Pulumi.<stack>.yaml in plain text."""
    project_dir = project_dir or PROJECT_DIR
    project = project_name(project_dir)
    config = read_stack_file(project_dir / "stacks" / f"Pulumi.{stack}.yaml")
    return sorted(key for key, value in config.items()
                  if (key if ":" in key else f"{project}:{key}") in {f"brickwall:{k}" for k in SECRET_KEYS}
                  and not (isinstance(value, dict) and "secure" in value))


def stack_config(stack: str, project_dir: Path | None = None) -> tuple[dict[str, str], list[str]]:
    """Config from stacks/Pulumi.<stack>.yaml as the engine would pass it; `secure:` values stay secret placeholders."""
    project_dir = project_dir or PROJECT_DIR
    path = project_dir / "stacks" / f"Pulumi.{stack}.yaml"
    raw = read_stack_file(path)
    project = project_name(project_dir)
    config: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, value in raw.items():
        full = key if ":" in key else f"{project}:{key}"
        if isinstance(value, dict) and "secure" in value:
            config[full] = SECRET_CONFIG_PLACEHOLDER
            secret_keys.append(full)
        else:
            config[full] = value if isinstance(value, str) else _json(value)
    return config, secret_keys


def _json(value: Any) -> str:
    return json.dumps(value)


def _spec(stack: str, spec_file: str | Path | None) -> Any:
    try:
        return stacks.load_file(spec_file) if spec_file else stacks.load(stack)
    except (SpecError, stacks.UnknownStackError, stacks.SpecFileError):
        return None  # the program reports it, before registering anything


def entra_directory(stack: str, spec_file: str | Path | None) -> dict[str, str]:
    """The offline Entra tenant: the groups the spec names exist there under the names it gives them."""
    spec = _spec(stack, spec_file)
    return {g.entra_object_id: g.name for g in spec.access.groups} if spec is not None else {}


def offline_placeholders(stack: str, spec_file: str | Path | None, config: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """Stand-ins for the config values a spec needs that this machine does not have (real secrets live
    encrypted in the user's stack config). Secrets stay Pulumi secrets; nothing is read from anywhere."""
    spec = _spec(stack, spec_file)
    if spec is None:
        return {}, []
    project = project_name()
    values: dict[str, str] = {}
    secrets: list[str] = []
    for key in needs.required_secret_keys(spec):
        if (full := f"{project}:{key}") not in config:
            values[full] = SECRET_CONFIG_PLACEHOLDER
            secrets.append(full)
    for key in needs.required_plain_keys(spec):
        if (full := f"{project}:{key}") not in config:
            values[full] = PLAIN_CONFIG_PLACEHOLDER
    return values, secrets


def run(stack: str, spec_file: str | Path | None = None, project_dir: Path | None = None, *,
        extra_config: Mapping[str, str] | None = None, extra_secret_keys: Sequence[str] = (),
        preview: bool = False, directory: Mapping[str, str] | None = None) -> Recording:
    """Record every registration the program makes for `stack` (or for a spec file under that stack name).

    `preview` runs as a first `pulumi preview` would: outputs only Azure can compute (the workspace URL)
    stay unknown. `directory` (Entra object id -> group display name) replaces the offline tenant, which
    otherwise holds exactly the spec's groups.
    """
    project_dir = project_dir or PROJECT_DIR
    config, secret_keys = stack_config(stack, project_dir)
    config.update(extra_config or {})
    secret_keys = [*secret_keys, *extra_secret_keys]
    placeholders, placeholder_secrets = offline_placeholders(stack, spec_file, config)
    config.update(placeholders)
    secret_keys += placeholder_secrets
    project = project_name(project_dir)
    if spec_file is not None:
        config[f"{project}:specFile"] = str(Path(spec_file).resolve())
    if str(project_dir) not in sys.path:
        sys.path.insert(0, str(project_dir))
    entry = str(project_dir / "__main__.py")
    tenant = entra_directory(stack, spec_file) if directory is None else directory
    return record(lambda: runpy.run_path(entry, run_name="__pulumi_main__"), project=project, stack=stack,
                  config=config, secret_keys=secret_keys, preview=preview,
                  mocks=BrickwallMocks(preview=preview, directory=tenant))
