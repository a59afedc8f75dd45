"""The Automation API driver behind `python -m brickwall env up|preview|destroy`.

`up` allocates the environment's blocks in the ledger, writes its stamped spec under the state directory
(`<state>/specs/<name>.json`), creates or selects the Pulumi stack of that name in this project, sets its
config (`brickwall:specFile`, the base stack's plain config, secrets from the environment), runs `pulumi up`
with its output streamed, then a second `preview` that must report no changes: the idempotency gate (a
program that keeps changing what it just deployed fails it). `destroy` destroys, removes the stack, frees
the ledger entry and deletes the spec file. `preview` shows what `up` would change.

The driver takes a stack factory by injection: the real one (`automation_stack_factory`) builds
`pulumi.automation` stacks on the project directory; tests pass fakes that record every call.
State lives in a Pulumi backend (default `file://<state>/state`; Azure Blob or Pulumi Cloud by URL), never
in a home-made store; the passphrase comes from PULUMI_CONFIG_PASSPHRASE(_FILE).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from pulumi import automation as auto
from pulumi._version import version as SDK_VERSION

import stacks
from brickwall import project
from brickwall.ledger import Entry, Ledger, LedgerError
from components.spec import EnvironmentSpec, SpecError
from components.spec import stamp as stamping
from stacks import config as needs

SPECS_DIR = "specs"
STATE_DIR = "state"
SPEC_FILE_KEY = "brickwall:specFile"
BACKEND_ENV = "BRICKWALL_BACKEND"
SECRETS_PROVIDER_ENV = "BRICKWALL_SECRETS_PROVIDER"
PASSPHRASE_ENVS = ("PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE")
BACKEND_SCHEMES = ("file", "azblob", "s3", "gs", "https")
# Config a stamped environment may take from the environment when it is set there (CI): key -> secret?
OPTIONAL_CONFIG = {"brickwall:databricksClientId": False, "brickwall:databricksClientSecret": True}


class DriverError(Exception):
    """A user or environment problem (no CLI, no passphrase, a missing secret, a bad backend): exit 2."""


class CliMissingError(DriverError):
    pass


class OperationError(Exception):
    """A Pulumi operation failed (Azure or the engine said no); its output was streamed above."""


class IdempotencyError(Exception):
    """The preview after `up` wants to change something: deploying twice is not a no-op."""

    def __init__(self, name: str, changes: Mapping[str, int]):
        self.name, self.changes = name, dict(changes)
        listed = ", ".join(f"{n} to {op}" for op, n in sorted(self.changes.items()))
        super().__init__(f"idempotency gate: the preview after `up` of {name} still wants changes ({listed}); "
                         "deploying the same spec twice must change nothing. The environment is up and stays in the "
                         f"ledger: fix the program, then `env up {name}` again, or `env destroy {name} --yes`")


class StackMissingError(Exception):
    """The stack does not exist in the backend (select without create)."""


# --- what the driver needs of pulumi.automation ---------------------------------------------------------

OnOutput = Callable[[str], Any]


class PreviewLike(Protocol):
    @property
    def change_summary(self) -> Mapping[Any, int]: ...


class WorkspaceLike(Protocol):
    def remove_stack(self, stack_name: str) -> None: ...


class StackLike(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def workspace(self) -> WorkspaceLike: ...

    def set_all_config(self, config: MutableMapping[str, Any], *, path: bool = False) -> None: ...

    def up(self, *, on_output: OnOutput | None = None) -> Any: ...

    def preview(self, *, on_output: OnOutput | None = None) -> PreviewLike: ...

    def destroy(self, *, on_output: OnOutput | None = None) -> Any: ...


# (name, create) -> stack; raises StackMissingError when create is False and the stack does not exist.
StackFactory = Callable[[str, bool], StackLike]
# (value, secret) -> the config value object set_all_config takes (pulumi.automation.ConfigValue)
ConfigValueFactory = Callable[[str, bool], Any]


@dataclass(frozen=True)
class Value:
    """A config value as the driver plans it (the fakes and ConfigValue both take value + secret)."""

    value: str
    secret: bool = False


# --- settings resolved from the command line and the environment ----------------------------------------

def config_env_var(key: str) -> str:
    """The environment variable a config key's value comes from: brickwall:databricksClientSecret ->
    BRICKWALL_DATABRICKS_CLIENT_SECRET, brickwall:oauth2CookieSecret -> BRICKWALL_OAUTH2_COOKIE_SECRET."""
    bare = key.split(":", 1)[1] if key.startswith("brickwall:") else key
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", bare)
    return "BRICKWALL_" + re.sub(r"[^A-Za-z0-9]+", "_", snake).upper().strip("_")


def default_backend(state_dir: Path) -> str:
    return f"file://{(state_dir / STATE_DIR).resolve()}"


def resolve_backend(explicit: str | None, state_dir: Path, environ: Mapping[str, str]) -> str:
    url = explicit or environ.get(BACKEND_ENV) or default_backend(state_dir)
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme not in BACKEND_SCHEMES:
        raise DriverError(f"backend {url!r}: give a URL: file://DIR, azblob://CONTAINER (AZURE_STORAGE_ACCOUNT set), "
                          "s3://BUCKET, gs://BUCKET or https://api.pulumi.com (Pulumi Cloud)")
    return url


def is_cloud_backend(url: str) -> bool:
    return url.startswith("https://")


def check_secrets(backend: str, secrets_provider: str | None, environ: Mapping[str, str]) -> None:
    """A self-managed backend encrypts stack secrets with a passphrase unless another secrets provider is given."""
    if is_cloud_backend(backend) or secrets_provider or any(environ.get(v) for v in PASSPHRASE_ENVS):
        return
    raise DriverError(f"no passphrase for the stack secrets in {backend}: set PULUMI_CONFIG_PASSPHRASE (or "
                      "PULUMI_CONFIG_PASSPHRASE_FILE naming a file that holds it; in CI, from the secret store), or "
                      f"give --secrets-provider / {SECRETS_PROVIDER_ENV} (for example azurekeyvault://VAULT.vault.azure.net/keys/KEY)")


def install_hint(reason: str = "the Pulumi CLI is not on PATH") -> str:
    return (f"{reason}; env up|preview|destroy drive it through the Automation API. Install it "
            f"(the SDK here is {SDK_VERSION}; any CLI v{SDK_VERSION.major}.x works, this pins the same release):\n"
            f"  curl -fsSL https://get.pulumi.com | sh -s -- --version {SDK_VERSION}\n"
            "then put ~/.pulumi/bin on PATH (or see https://www.pulumi.com/docs/install/)")


def check_cli(which: Callable[[str], str | None] | None = None) -> None:
    if (which or shutil.which)("pulumi") is None:
        raise CliMissingError(install_hint())


# --- the real factory ------------------------------------------------------------------------------------

def workspace_options(backend: str, *, project_dir: Path, secrets_provider: str | None = None,
                      pulumi_command: Any = None) -> Any:
    """The LocalWorkspaceOptions every stack of the driver uses: the project directory itself as work_dir
    (Pulumi.yaml, stackConfigDir stacks/, the .venv runtime), the backend as PULUMI_BACKEND_URL (the project's
    Pulumi.yaml is never rewritten), and the secrets provider when one is given."""
    return auto.LocalWorkspaceOptions(
        work_dir=str(project_dir),
        env_vars={"PULUMI_BACKEND_URL": backend, "PULUMI_SKIP_UPDATE_CHECK": "true"},
        secrets_provider=secrets_provider,
        pulumi_command=pulumi_command,
    )


def automation_stack_factory(backend: str, *, project_dir: Path | None = None,
                             secrets_provider: str | None = None) -> StackFactory:
    """Stacks of this project through pulumi.automation. Raises CliMissingError (with the install command)
    when the Pulumi CLI is not on PATH, before anything is allocated or written."""
    check_cli()
    try:
        command = auto.PulumiCommand()
    except FileNotFoundError:
        raise CliMissingError(install_hint()) from None
    except auto.InvalidVersionError as exc:
        raise DriverError(install_hint(f"the Pulumi CLI on PATH is too old ({exc})")) from None
    except subprocess.CalledProcessError as exc:
        raise DriverError(install_hint(f"`pulumi version` failed (exit {exc.returncode})")) from None
    if backend.startswith("file://"):
        Path(backend.removeprefix("file://")).mkdir(parents=True, exist_ok=True)
    opts = workspace_options(backend, project_dir=project_dir or project.PROJECT_DIR, secrets_provider=secrets_provider,
                             pulumi_command=command)

    def factory(name: str, create: bool) -> StackLike:
        assert opts.work_dir is not None
        if create:
            return auto.create_or_select_stack(name, work_dir=opts.work_dir, opts=opts)
        try:
            return auto.select_stack(name, work_dir=opts.work_dir, opts=opts)
        except auto.StackNotFoundError:
            raise StackMissingError(name) from None

    return factory


def automation_config_value(value: str, secret: bool) -> Any:
    return auto.ConfigValue(value=value, secret=secret)


# --- the driver ------------------------------------------------------------------------------------------

@dataclass
class UpResult:
    entry: Entry
    spec_file: Path
    outputs: dict[str, Any] = field(default_factory=dict)


def base_stack_config(base_stack: str, project_dir: Path | None = None) -> tuple[dict[str, Any], list[str]]:
    """The plain values of stacks/Pulumi.<base>.yaml (lists and maps as they are) and its secret keys
    (`secure:` values are encrypted for the base stack and cannot be copied; they come from the environment)."""
    project_dir = project_dir or project.PROJECT_DIR
    config = project.read_stack_file(project_dir / "stacks" / f"Pulumi.{base_stack}.yaml")
    name = project.project_name(project_dir)
    plain: dict[str, Any] = {}
    secret: list[str] = []
    for key, value in config.items():
        full = key if ":" in key else f"{name}:{key}"
        if isinstance(value, dict) and "secure" in value:
            secret.append(full)
        else:
            plain[full] = value
    return plain, secret


def _flatten(key: str, value: Any) -> dict[str, str]:
    """Path keys for a structured value: pulumi:disable-default-providers[0] = *."""
    if isinstance(value, dict):
        return {k: v for sub, item in value.items() for k, v in _flatten(f"{key}.{sub}", item).items()}
    if isinstance(value, list):
        return {k: v for i, item in enumerate(value) for k, v in _flatten(f"{key}[{i}]", item).items()}
    return {key: value if isinstance(value, str) else json.dumps(value)}


@dataclass(frozen=True)
class StackConfig:
    plain: dict[str, Value]  # set with path=False
    paths: dict[str, Value]  # structured base values, set with path=True


class Driver:
    def __init__(self, stack_factory: StackFactory, *, state_dir: str | Path | None = None,
                 project_dir: Path | None = None, environ: Mapping[str, str] | None = None,
                 out: OnOutput = print, config_value: ConfigValueFactory | None = None):
        self.stack_factory = stack_factory
        self.ledger = Ledger(state_dir)
        self.state_dir = self.ledger.state_dir
        self.project_dir = project_dir or project.PROJECT_DIR
        self.environ = os.environ if environ is None else environ
        self.out = out
        self.config_value = config_value or automation_config_value

    def spec_file(self, name: str) -> Path:
        return (self.state_dir / SPECS_DIR / f"{name}.json").resolve()

    # -- planning, before anything is allocated --

    def stack_config(self, name: str, base_stack: str, base: EnvironmentSpec) -> StackConfig:
        """Every config value the stack gets. Raises DriverError listing each missing environment variable."""
        base_plain, base_secret = base_stack_config(base_stack, self.project_dir)
        plain: dict[str, Value] = {SPEC_FILE_KEY: Value(str(self.spec_file(name)))}
        paths: dict[str, Value] = {}
        for key, value in base_plain.items():
            if key == SPEC_FILE_KEY:
                continue
            if isinstance(value, (dict, list)):
                paths.update({k: Value(v) for k, v in _flatten(key, value).items()})
            else:
                plain[key] = Value(value if isinstance(value, str) else json.dumps(value))
        wanted = {**{f"brickwall:{k}": True for k in needs.required_secret_keys(base)}, **dict.fromkeys(base_secret, True),
                  **{f"brickwall:{k}": False for k in needs.required_plain_keys(base) if f"brickwall:{k}" not in base_plain}}
        missing = []
        for key, secret in wanted.items():
            if (value := self.environ.get(config_env_var(key))) is None:
                missing.append(f"{config_env_var(key)} ({key}{', secret' if secret else ''})")
            else:
                plain[key] = Value(value, secret)
        for key, secret in OPTIONAL_CONFIG.items():
            if key not in plain and (value := self.environ.get(config_env_var(key))) is not None:
                plain[key] = Value(value, secret)
        if missing:
            raise DriverError(f"environment {name} from {base_stack} needs these environment variables (the base's "
                              "encrypted or required stack config; secrets become Pulumi secrets): " + ", ".join(missing))
        return StackConfig(plain, paths)

    def _check_name(self, name: str) -> None:
        if name in stacks.KNOWN_STACKS:
            raise DriverError(f"{name!r} is one of the project's own stacks ({', '.join(stacks.KNOWN_STACKS)}); "
                              "pick another name for a test environment")
        if problems := stamping.env_name_problems(name):
            raise SpecError(f"environment {name!r}", problems)

    def _entry(self, name: str) -> Entry:
        for entry in self.ledger.list():
            if entry.name == name:
                return entry
        raise LedgerError(f"no environment {name!r} in {self.ledger.path}; `env up {name} --base BASE` creates it")

    def _write_spec(self, entry: Entry, base: EnvironmentSpec) -> Path:
        spec = stamping.stamp(base, entry.name, entry.cidrs, owner=entry.owner, pull_request=entry.pull_request,
                              created_at=datetime.fromisoformat(entry.created_at), expires_at=entry.expires)
        path = self.spec_file(entry.name)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{entry.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(spec.model_dump(mode="json"), f, indent=2)
                f.write("\n")
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    def _configure(self, stack: StackLike, config: StackConfig) -> None:
        stack.set_all_config({k: self.config_value(v.value, v.secret) for k, v in config.plain.items()})
        if config.paths:
            stack.set_all_config({k: self.config_value(v.value, v.secret) for k, v in config.paths.items()}, path=True)

    def _run(self, what: str, name: str, op: Callable[[], Any]) -> Any:
        try:
            return op()
        except (DriverError, IdempotencyError, LedgerError, StackMissingError):
            raise
        except Exception as exc:  # pulumi.automation.CommandError and whatever the CLI reports
            raise OperationError(f"`{what}` of {name} failed: {_first_line(exc)}") from exc

    # -- the commands --

    def up(self, name: str, base_stack: str, *, owner: str, pull_request: str | None = None,
           base: EnvironmentSpec | None = None) -> UpResult:
        """Allocate (or reuse the ledger entry of an environment already up), write the spec, create or select
        the stack, set its config, `up`, then the idempotency gate. On failure the ledger entry stays."""
        self._check_name(name)
        base = base or stacks.load(base_stack)
        if base.stamping.pool is None:
            stamping.allocate_for(base, [])  # the SpecError naming stamping.pool, before anything else
        config = self.stack_config(name, base_stack, base)  # every missing secret reported before allocating
        existing = [e for e in self.ledger.list() if e.name == name]
        if not existing:
            # The stamped spec must validate before anything is allocated: a spec the blocks would make invalid
            # raises SpecError here and leaves no ledger entry behind.
            now = datetime.now(UTC).replace(microsecond=0)
            trial = stamping.allocate_for(base, [net for e in self.ledger.list() for net in e.networks()])
            stamping.stamp(base, name, trial, owner=owner, pull_request=pull_request, created_at=now,
                           expires_at=now + timedelta(hours=base.stamping.ttl_hours))
        if existing:
            entry = existing[0]
            if entry.base != base.name:
                raise LedgerError(f"environment {name!r} was stamped from {entry.base}, not {base.name}; destroy it first")
            self.out(f"brickwall env up: {name} is in the ledger ({', '.join(entry.cidrs)}): updating it")
        else:
            entry = self.ledger.allocate(name, base, owner=owner, pull_request=pull_request)
            self.out(f"brickwall env up: allocated {name} from {base.name}: {', '.join(entry.cidrs)} (expires {entry.expires_at})")
        spec_file = self._write_spec(entry, base)
        kept = (f"the ledger keeps {name} ({', '.join(entry.cidrs)}) since resources may exist: "
                f"`python -m brickwall env destroy {name} --yes` removes them and frees it")
        try:
            stack = self._run("stack select", name, lambda: self.stack_factory(name, True))
            self._run("config set", name, lambda: self._configure(stack, config))
            result = self._run("up", name, lambda: stack.up(on_output=self.out))
            self.out(f"brickwall env up: {name} is up; idempotency gate: a second preview must change nothing")
            preview = self._run("preview", name, lambda: stack.preview(on_output=self.out))
        except OperationError as exc:
            raise OperationError(f"{exc}; {kept}") from exc.__cause__
        changes = _changes(preview.change_summary)
        if changes:
            raise IdempotencyError(name, changes)
        self.out(f"brickwall env up: {name} passed the idempotency gate (no changes on a second preview)")
        outputs = getattr(result, "outputs", None) or {}
        return UpResult(entry, spec_file, {k: "[secret]" if getattr(v, "secret", False) else getattr(v, "value", v)
                                             for k, v in outputs.items()})

    def preview(self, name: str, base: EnvironmentSpec | None = None) -> dict[str, int]:
        """What `up` would change for an environment in the ledger; its spec and config are refreshed first."""
        self._check_name(name)
        entry = self._entry(name)
        base = base or stacks.load(entry.base)
        config = self.stack_config(name, entry.base, base)
        self._write_spec(entry, base)
        try:
            stack = self._run("stack select", name, lambda: self.stack_factory(name, False))
        except StackMissingError:
            raise LedgerError(f"environment {name!r} is in the ledger but has no stack in the backend: "
                              f"`env up {name} --base {entry.base}` creates it") from None
        self._run("config set", name, lambda: self._configure(stack, config))
        preview = self._run("preview", name, lambda: stack.preview(on_output=self.out))
        summary = {_op(k): n for k, n in preview.change_summary.items() if n}
        self.out(f"brickwall env preview: {name}: " + (", ".join(f"{n} {op}" for op, n in sorted(summary.items())) or "nothing"))
        return summary

    def destroy(self, name: str) -> Entry:
        """Destroy every resource, remove the stack, free the ledger entry, delete the spec file (in that order;
        a failure stops there and keeps the rest, so running it again finishes the job)."""
        self._check_name(name)
        self._entry(name)  # only what the ledger holds is destroyed
        try:
            stack: StackLike | None = self._run("stack select", name, lambda: self.stack_factory(name, False))
        except StackMissingError:
            self.out(f"brickwall env destroy: {name} has no stack in the backend (nothing was deployed)")
            stack = None
        if stack is not None:
            found = stack
            self._run("destroy", name, lambda: found.destroy(on_output=self.out))
            self._run("stack rm", name, lambda: found.workspace.remove_stack(name))
        released = self.ledger.release(name)
        self.spec_file(name).unlink(missing_ok=True)
        self.out(f"brickwall env destroy: {name} destroyed; {', '.join(released.cidrs)} free again")
        return released


def _op(key: Any) -> str:
    return str(getattr(key, "value", key))


def _changes(summary: Mapping[Any, int]) -> dict[str, int]:
    return {_op(k): n for k, n in summary.items() if n and _op(k) != "same"}


def _first_line(exc: BaseException) -> str:
    """The CLI's own complaint: the stderr lines of a CommandError (its text is "code: ... stdout: ... stderr: ...")."""
    text = str(exc).strip()
    if "stderr:" in text:
        text = text.rsplit("stderr:", 1)[1]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return " / ".join(lines[:5])[:600] if lines else type(exc).__name__
