"""Environment stamping (issue 6 §1, first part): the pool allocator, the derived spec, the ledger under
concurrent writers, and `python -m brickwall env plan|list`."""

from __future__ import annotations

import json
import multiprocessing
import threading
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

import stacks
from brickwall import cli, exits, stamps
from brickwall.engine import Recording
from brickwall.ledger import Entry, Ledger, LedgerError
from components.planning.naming import NAME_RULES, name_problems
from components.spec import EnvironmentSpec, SpecError
from components.spec import stamp as stamping
from components.spec.errors import problems_from

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _staging() -> EnvironmentSpec:
    return stacks.load("staging")


def _with(spec: EnvironmentSpec, **changes: Any) -> dict[str, Any]:
    data = spec.model_dump(mode="json")
    for dotted, value in changes.items():
        *head, last = dotted.split("__")
        node = data
        for key in head:
            node = node[key]
        node[last] = value
    return data


def _paths(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationError) as err:
        EnvironmentSpec.model_validate(data)
    return {p.dotted: p.reason for p in problems_from(err.value)}


def _stamp(name: str = "pr-123", base: EnvironmentSpec | None = None, taken: list[IPv4Network] | None = None) -> EnvironmentSpec:
    base = base or _staging()
    return stamping.stamp(base, name, stamping.allocate_for(base, taken or []), owner="alice", pull_request="123",
                          created_at=NOW, expires_at=NOW + timedelta(hours=72))


# --- the allocator -------------------------------------------------------------------------------------

_nets = st.builds(lambda addr, prefix: IPv4Network((addr, prefix), strict=False),
                  st.integers(0x0A000000, 0x0AFFFFFF), st.integers(14, 28))


@settings(max_examples=300, deadline=None)
@given(pool=st.builds(lambda a, p: IPv4Network((a, p), strict=False), st.integers(0x0A000000, 0x0AFFFFFF), st.integers(12, 20)),
       prefixes=st.lists(st.integers(16, 28), min_size=1, max_size=4), taken=st.lists(_nets, max_size=12))
def test_allocations_stay_in_the_pool_and_clear_of_everything_taken(pool: IPv4Network, prefixes: list[int],
                                                                     taken: list[IPv4Network]) -> None:
    try:
        blocks = stamping.allocate_blocks(pool, prefixes, taken)
    except stamping.PoolExhaustedError as exc:
        assert str(pool) in str(exc)
        return
    assert [b.prefixlen for b in blocks] == prefixes
    for i, block in enumerate(blocks):
        assert block.subnet_of(pool)
        assert not any(block.overlaps(t) for t in taken)
        assert not any(block.overlaps(other) for other in blocks[i + 1:])


@settings(max_examples=200, deadline=None)
@given(taken=st.lists(st.integers(0, 15).map(lambda i: IPv4Network((0x0A400000 + i * 256, 24))), max_size=16),
       prefix=st.integers(21, 24))
def test_the_pool_is_exhausted_only_when_no_aligned_block_is_free(taken: list[IPv4Network], prefix: int) -> None:
    pool = IPv4Network("10.64.0.0/20")
    free = [b for b in pool.subnets(new_prefix=prefix) if not any(b.overlaps(t) for t in taken)]
    if free:
        assert stamping.allocate_blocks(pool, [prefix], taken) == [free[0]]  # the lowest free block
    else:
        with pytest.raises(stamping.PoolExhaustedError, match="exhausted"):
            stamping.allocate_blocks(pool, [prefix], taken)


def test_allocation_avoids_reserved_ranges_and_the_bases_own_ranges() -> None:
    base = EnvironmentSpec.model_validate(_with(_staging(), stamping__pool="10.16.0.0/12", stamping__reserved=["10.16.0.0/16"]))
    # staging's own 10.20.0.0/20 lies inside this pool: it must be skipped too.
    blocks = stamping.allocate_for(base, [IPv4Network("10.17.0.0/20")])
    assert [str(b) for b in blocks] == ["10.17.16.0/20", "10.17.32.0/24"]
    taken = [IPv4Network("10.17.0.0/16"), IPv4Network("10.18.0.0/15")]
    blocks = stamping.allocate_for(base, taken)
    assert not any(b.overlaps(IPv4Network("10.20.0.0/20")) for b in blocks)
    assert blocks[0] == IPv4Network("10.20.16.0/20")


def test_staging_pool_overlaps_no_known_environment_or_reserved_range() -> None:
    pool = IPv4Network(_staging().stamping.pool or "")
    for name in stacks.KNOWN_STACKS:
        for net in stamping.base_ranges(stacks.load(name)):
            assert not pool.overlaps(net), (name, net)
    for cidr in _staging().stamping.reserved:
        assert not pool.overlaps(IPv4Network(cidr))
    assert stacks.load("dev").stamping.pool is None and stacks.load("prod").stamping.pool is None


# --- the derived spec ----------------------------------------------------------------------------------

def test_a_stamped_spec_is_a_valid_relaxed_copy_of_its_base() -> None:
    base, spec = _staging(), _stamp()
    assert spec.name == "pr-123" and spec.tier == base.tier and spec.region == base.region
    assert spec.network.address_space == "10.64.0.0/20"
    assert spec.private_link.transit is not None and spec.private_link.transit.address_space == "10.64.16.0/24"
    assert spec.protection.protect_data is False and spec.protection.locks is False
    assert spec.stamping.ephemeral and spec.stamping.pool is None
    # every other staging floor holds: private workspace, private link, audit
    assert spec.workspace.public_network_access == "Disabled" and spec.private_link.frontend
    assert spec.access.settings == base.access.settings and spec.monitoring == base.monitoring
    assert {k: spec.tags[k] for k in ("owner", "pull-request", "created-at", "expires-at")} == {
        "owner": "alice", "pull-request": "123", "created-at": "2026-11-23T12:00:00Z", "expires-at": "2026-11-26T12:00:00Z"}
    assert spec.naming.unique_suffix == stamping.unique_suffix("pr-123")
    assert name_problems(spec.names) == []
    for field, value in spec.names.global_names().items():
        assert value != getattr(base.names, field)
    assert NAME_RULES["storage_account"].min_len <= len(spec.names.workspace_storage_account) <= 24


@settings(max_examples=60, deadline=None)
@given(name=st.from_regex(r"[a-z][a-z0-9]{0,4}(-[a-z0-9]{1,3}){0,2}", fullmatch=True).filter(lambda n: 2 <= len(n) <= 12))
def test_every_valid_env_name_gives_valid_azure_names(name: str) -> None:
    spec = _stamp(name)
    assert name_problems(spec.names) == []
    assert all(len(v) <= 24 for k, v in spec.names.global_names().items() if k.endswith("storage_account"))


def test_explicit_subnet_cidrs_move_with_the_vnet() -> None:
    base = EnvironmentSpec.model_validate(_with(_staging(), network__subnets__host_cidr="10.20.4.0/22"))
    spec = _stamp(base=base)
    assert spec.network.subnets.host_cidr == "10.64.4.0/22"
    assert spec.network.plan.vnet == IPv4Network("10.64.0.0/20")


@pytest.mark.parametrize("name", ["PR-1", "1pr", "pr--1", "p", "pr-1234567890", "pr_1", "pr-"])
def test_a_bad_env_name_is_a_clear_error_at_name(name: str) -> None:
    with pytest.raises(SpecError) as err:
        _stamp(name)
    assert [p.dotted for p in err.value.problems] == ["name"]
    assert "lowercase letters" in err.value.problems[0].reason


def test_a_base_without_a_pool_cannot_be_stamped() -> None:
    with pytest.raises(SpecError) as err:
        _stamp(base=stacks.load("prod"))
    assert [p.dotted for p in err.value.problems] == ["stamping.pool"]


def test_prod_is_never_ephemeral_and_its_lock_floor_stands() -> None:
    data = _with(stacks.load("prod"), stamping__ephemeral=True, protection__locks=False, protection__protect_data=False)
    data["tags"]["expires-at"] = "2026-11-26T12:00:00Z"
    paths = _paths(data)
    assert {"stamping.ephemeral", "protection.locks", "protection.protect_data"} <= set(paths)
    assert "never ephemeral" in paths["stamping.ephemeral"]


def test_staging_still_needs_data_protection_unless_ephemeral_with_an_expiry() -> None:
    assert set(_paths(_with(_staging(), protection__protect_data=False))) == {"protection.protect_data"}
    assert set(_paths(_with(_staging(), protection__protect_data=False, stamping__ephemeral=True, stamping__pool=None))) == {
        "stamping.ephemeral"}  # no expires-at tag


@pytest.mark.parametrize(("changes", "path", "fragment"), [
    ({"stamping__pool": "10.64.0.1/12"}, "stamping.pool", "host bits"),
    ({"stamping__pool": "not-a-cidr"}, "stamping.pool", "not an IPv4 CIDR"),
    ({"stamping__pool": "10.64.0.0/26"}, "stamping.pool", "too small"),
    ({"stamping__reserved": ["10.0.0.0/33"]}, "stamping.reserved.0", "not an IPv4 CIDR"),
    ({"stamping__reserved": ["10.200.0.0/16", "10.0.0.0/8"]}, "stamping.reserved.1", "covers the whole pool"),
    ({"stamping__ttl_hours": 0}, "stamping.ttl_hours", "greater than or equal to 1"),
    ({"stamping__ttl_hours": 721}, "stamping.ttl_hours", "less than or equal to 720"),
])
def test_invalid_stamping_sections_are_reported_at_their_path(changes: dict[str, Any], path: str, fragment: str) -> None:
    paths = _paths(_with(_staging(), **changes))
    assert set(paths) == {path}
    assert fragment in paths[path]


# --- the ledger ----------------------------------------------------------------------------------------

def _allocate_in_process(args: tuple[str, str]) -> tuple[str, ...]:
    state_dir, name = args
    return Ledger(state_dir).allocate(name, stacks.load("staging"), owner="proc").cidrs


def _assert_disjoint(allocations: list[tuple[str, ...]]) -> None:
    nets = [IPv4Network(c) for cidrs in allocations for c in cidrs]
    pool = IPv4Network(_staging().stamping.pool or "")
    for i, net in enumerate(nets):
        assert net.subnet_of(pool)
        assert not any(net.overlaps(other) for other in nets[i + 1:]), net


def test_threads_allocating_at_once_never_collide(tmp_path: Path) -> None:
    base, results, errors = _staging(), {}, []
    start = threading.Barrier(12)

    def work(i: int) -> None:
        try:
            start.wait()
            results[i] = Ledger(tmp_path).allocate(f"t-{i}", base, owner="thread").cidrs
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    _assert_disjoint(list(results.values()))
    assert sorted(e.name for e in Ledger(tmp_path).list()) == sorted(f"t-{i}" for i in range(12))


def test_processes_allocating_at_once_never_collide(tmp_path: Path) -> None:
    with multiprocessing.get_context("spawn").Pool(6) as pool:
        allocations = pool.map(_allocate_in_process, [(str(tmp_path), f"p-{i}") for i in range(12)])
    _assert_disjoint(allocations)
    ledger = Ledger(tmp_path).list()
    assert sorted(e.name for e in ledger) == sorted(f"p-{i}" for i in range(12))
    assert sorted(e.cidrs for e in ledger) == sorted(allocations)
    assert not list(tmp_path.glob(".environments.*.tmp"))  # every write replaced the ledger atomically


def test_release_frees_the_blocks_for_reuse_and_names_are_unique(tmp_path: Path) -> None:
    ledger, base = Ledger(tmp_path), _staging()
    first = ledger.allocate("pr-1", base, owner="a", now=NOW)
    second = ledger.allocate("pr-2", base, owner="a", now=NOW)
    assert set(first.cidrs).isdisjoint(second.cidrs)
    with pytest.raises(LedgerError, match="already allocated"):
        ledger.allocate("pr-1", base, owner="b")
    assert ledger.release("pr-1") == first
    assert ledger.allocate("pr-3", base, owner="a", now=NOW).cidrs == first.cidrs
    with pytest.raises(LedgerError, match="no environment 'pr-1'"):
        ledger.release("pr-1")
    doc = json.loads((tmp_path / "environments.json").read_text())
    assert [e["name"] for e in doc["environments"]] == ["pr-2", "pr-3"]
    assert set(doc["environments"][0]) == {"name", "base", "cidrs", "created_at", "expires_at", "owner", "pull_request"}


def test_a_full_pool_is_a_clear_error(tmp_path: Path) -> None:
    base = EnvironmentSpec.model_validate(_with(_staging(), stamping__pool="10.64.0.0/19"))  # room for one /20 + /24 only
    ledger = Ledger(tmp_path)
    ledger.allocate("pr-1", base, owner="a")
    with pytest.raises(stamping.PoolExhaustedError, match=r"pool 10.64.0.0/19 is exhausted: no free /20"):
        ledger.allocate("pr-2", base, owner="a")
    assert [e.name for e in ledger.list()] == ["pr-1"]


# --- the command line ----------------------------------------------------------------------------------

def test_env_list_shows_expiry_and_flags_expired_ones(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ledger, base = Ledger(tmp_path), _staging()
    ledger.allocate("pr-old", base, owner="alice", pull_request="41", now=datetime.now(UTC) - timedelta(hours=100))
    ledger.allocate("pr-new", base, owner="bob", now=datetime.now(UTC))
    assert cli.main(["env", "list", "--state-dir", str(tmp_path)]) == exits.OK
    out = capsys.readouterr().out
    rows = {line.split()[0]: line for line in out.splitlines() if line.startswith("pr-")}
    assert "EXPIRED" in rows["pr-old"] and "41" in rows["pr-old"]
    assert "EXPIRED" not in rows["pr-new"] and "71h left" in rows["pr-new"]
    assert "2 environment(s), 1 expired" in out


def test_env_list_of_an_empty_state_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["env", "list", "--state-dir", str(tmp_path / "none")]) == exits.OK
    assert "no stamped environments" in capsys.readouterr().out
    assert not (tmp_path / "none").exists()


def test_env_plan_renders_stamps_and_proves_no_collision(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Two full offline renders (the fewest that can collide; each a whole program, ~10 s): `--count 20` is the
    README's and scripts/benchmark.py's."""
    live = Ledger(tmp_path)
    taken = live.allocate("pr-live", _staging(), owner="ci")
    before = (tmp_path / "environments.json").read_text()
    code = cli.main(["env", "plan", "--base", "staging", "--count", "2", "--state-dir", str(tmp_path), "--owner", "ci"])
    captured = capsys.readouterr()
    assert code == exits.OK, captured.err
    rows = [line.split() for line in captured.out.splitlines() if line.startswith("pr-")]
    assert [r[0] for r in rows] == [f"pr-{i}" for i in range(1, 3)]
    nets = [IPv4Network(c) for r in rows for c in r[1:3]]
    assert not any(n.overlaps(IPv4Network(t)) for n in nets for t in taken.cidrs)  # clear of the live ledger
    assert len({r[3] for r in rows}) == 2 and len({r[4] for r in rows}) == 2  # storage accounts, key vaults
    assert all(int(r[5]) > 50 for r in rows)  # each one a full render
    assert "no collisions" in captured.out
    assert (tmp_path / "environments.json").read_text() == before  # nothing persisted


@pytest.mark.parametrize(("argv", "code", "fragment"), [
    (["env", "plan", "--base", "staging", "--count", "0"], exits.USAGE, "--count"),
    (["env", "plan", "--base", "qa"], exits.USAGE, "unknown stack"),
    (["env", "plan", "--base", "prod"], exits.INVALID, "stamping.pool"),
    (["env", "plan", "--base", "staging", "--prefix", "Pr"], exits.INVALID, "name"),
    (["env"], exits.USAGE, "env"),
    (["env", "deploy"], exits.USAGE, "invalid choice"),
    (["env", "up"], exits.USAGE, "required"),
])
def test_env_errors_have_the_cli_exit_codes(argv: list[str], code: int, fragment: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(argv) == code
    err = capsys.readouterr().err
    assert fragment in err and "Traceback" not in err


# --- the collision proof itself (brickwall/stamps.py), on stamps made to collide -----------------------------------

def test_the_proof_reads_a_renders_vnets_and_flags_a_render_that_is_not_its_allocation(staging: Recording) -> None:
    spec = _staging()
    cidrs, strings = stamps.rendered(staging)
    assert sorted(cidrs) == sorted(str(n) for n in stamping.base_ranges(spec))
    assert spec.names.global_names()["workspace_storage_account"] in strings
    right = Entry("staging", "staging", tuple(cidrs), NOW.isoformat(), (NOW + timedelta(hours=1)).isoformat(), "ci")
    stamp, problems = stamps.stamp_of(right, spec, staging)
    assert problems == [] and stamp.rendered_cidrs == cidrs and stamp.resources == len(staging.registrations)
    wrong = Entry("pr-1", "staging", ("10.250.0.0/24",), NOW.isoformat(), NOW.isoformat(), "ci")
    _, problems = stamps.stamp_of(wrong, spec, staging)
    assert problems == [f"pr-1: rendered VNets {cidrs} are not its allocation ['10.250.0.0/24']"]


def test_the_proof_finds_overlapping_ranges_and_shared_global_names() -> None:
    staging, prod = _staging(), stacks.load("prod")
    prod_vnet = stamping.base_ranges(prod)[0]
    a = stamps.Stamp("pr-1", ("10.250.0.0/24",), ["10.250.0.0/24"], {"key_vault": "kv-pr-1"})
    b = stamps.Stamp("pr-2", ("10.250.0.128/25",), ["10.250.0.128/25"], dict(prod.names.global_names()))
    c = stamps.Stamp("pr-3", (str(prod_vnet),), [str(prod_vnet)], {"key_vault": "kv-pr-1"})
    stamped, fixed = stamps.ranges([a, b, c], staging, {"prod": prod}, [])
    assert ("prod", prod_vnet) in fixed and len(stamped) == 3
    assert ("staging reserved", prod_vnet) in fixed  # staging's stamping.reserved keeps clear of prod's VNet too
    assert stamps.overlaps(stamped, fixed) == ["10.250.0.0/24 (pr-1) overlaps 10.250.0.128/25 (pr-2)",
                                               f"{prod_vnet} (pr-3) overlaps {prod_vnet} (prod)",
                                               f"{prod_vnet} (pr-3) overlaps {prod_vnet} (staging reserved)"]
    shared = stamps.name_collisions([a, b, c], {"prod": prod})
    assert "global name kv-pr-1 of pr-3 is also pr-1's" in shared
    assert {f"global name {v} of prod is also pr-2's" for v in prod.names.global_names().values()} <= set(shared)
    assert stamps.overlaps(stamped[:1], []) == [] and stamps.name_collisions([a], {}) == []
