"""The ledger of stamped environments: which name holds which address blocks, until when.

One JSON file under the state directory (default `<project>/.brickwall/environments.json`). Every change
happens under an exclusive lock (`fcntl.flock` on `environments.lock`) and is written to a temporary file
that replaces the ledger atomically, so environments stamped at once, from threads or processes, never
get the same block, and a crash never leaves half a ledger.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

from brickwall import project
from components.spec import EnvironmentSpec, SpecError
from components.spec import stamp as stamping

LEDGER_FILE = "environments.json"
LOCK_FILE = "environments.lock"
VERSION = 1


def default_state_dir() -> Path:
    return project.PROJECT_DIR / ".brickwall"


class LedgerError(Exception):
    """A ledger request that cannot be met (a name already allocated, an unknown name, an unreadable ledger)."""


@dataclass(frozen=True)
class Entry:
    name: str
    base: str
    cidrs: tuple[str, ...]
    created_at: str  # ISO 8601, UTC
    expires_at: str
    owner: str
    pull_request: str | None = None

    @property
    def expires(self) -> datetime:
        return datetime.fromisoformat(self.expires_at)

    def expired(self, now: datetime | None = None) -> bool:
        return self.expires <= (now or datetime.now(UTC))

    def networks(self) -> list[IPv4Network]:
        return [IPv4Network(c) for c in self.cidrs]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Entry:
        return cls(**{**data, "cidrs": tuple(data["cidrs"])})


class Ledger:
    def __init__(self, state_dir: str | Path | None = None):
        self.state_dir = Path(state_dir) if state_dir is not None else default_state_dir()
        self.path = self.state_dir / LEDGER_FILE

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with open(self.state_dir / LOCK_FILE, "a") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def _read(self) -> list[Entry]:
        try:
            doc = json.loads(self.path.read_text())
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            raise LedgerError(f"cannot read the ledger {self.path}: {exc}") from None
        try:
            return [Entry.from_json(e) for e in doc["environments"]]
        except (KeyError, TypeError) as exc:
            raise LedgerError(f"{self.path} is not a brickwall ledger ({exc})") from None

    def _write(self, entries: list[Entry]) -> None:
        doc = {"version": VERSION, "environments": [{**asdict(e), "cidrs": list(e.cidrs)} for e in entries]}
        fd, tmp = tempfile.mkstemp(dir=self.state_dir, prefix=".environments.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as out:
                json.dump(doc, out, indent=2)
                out.write("\n")
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def list(self) -> list[Entry]:
        if not self.path.exists():
            return []
        with self._locked():
            return sorted(self._read(), key=lambda e: (e.created_at, e.name))

    def allocate(self, name: str, base: EnvironmentSpec, *, owner: str, pull_request: str | None = None,
                 now: datetime | None = None) -> Entry:
        """Reserve the address blocks of environment `name` stamped from `base`. Raises SpecError for a bad
        name or a base without a pool, PoolExhaustedError when the pool is full, LedgerError when `name` is taken."""
        if problems := stamping.env_name_problems(name):
            raise SpecError(f"environment {name!r}", problems)
        created = (now or datetime.now(UTC)).replace(microsecond=0)
        with self._locked():
            entries = self._read()
            if any(e.name == name for e in entries):
                raise LedgerError(f"environment {name!r} is already allocated in {self.path}; destroy it first or pick another name")
            blocks = stamping.allocate_for(base, [net for e in entries for net in e.networks()])
            entry = Entry(name=name, base=base.name, cidrs=tuple(str(b) for b in blocks), created_at=created.isoformat(),
                          expires_at=(created + timedelta(hours=base.stamping.ttl_hours)).isoformat(), owner=owner,
                          pull_request=pull_request)
            self._write([*entries, entry])
            return entry

    def release(self, name: str) -> Entry:
        """Free the blocks of `name` for later stamps."""
        with self._locked():
            entries = self._read()
            match = [e for e in entries if e.name == name]
            if not match:
                raise LedgerError(f"no environment {name!r} in {self.path}")
            self._write([e for e in entries if e.name != name])
            return match[0]

    def seed(self, entries: Iterable[Entry]) -> None:
        """Replace the whole ledger (a scratch copy of another ledger for `env plan`)."""
        with self._locked():
            self._write(list(entries))
