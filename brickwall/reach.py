"""`python -m brickwall reach --stack NAME`: can this machine reach the stack's workspace? One line, and an exit code.

A workspace whose public network access is Disabled answers only on its private endpoints: "All user traffic must
originate from a VNet connected through a private endpoint"
(https://learn.microsoft.com/azure/databricks/security/network/front-end/front-end-private-connect). Its host name
(`adb-<id>.<n>.azuredatabricks.net`) is a CNAME into `privatelink.azuredatabricks.net` in public DNS, and only a
network linked to a private DNS zone of that name gets the endpoint's private address; anyone else follows the public
chain to a public address the workspace refuses (https://learn.microsoft.com/azure/private-link/private-endpoint-dns).
The Databricks provider calls the workspace API in every preview and update, so a CI runner outside such a network
fails deep inside the provider. This preflight says so first, in one line:

1. the spec decides whether the workspace is private (`private_workspace`, the same field the tier floors hold);
   a public one needs no private network and passes;
2. the workspace URL: `--url`, else the stack's `workspaceUrl` output in the Pulumi backend; a stack with none yet
   (first deployment) passes, saying so;
3. the host must resolve, to private addresses only (the private zone answered), and TCP 443 must connect.

The checks take their resolver, connector and outputs reader by injection (`check`, and the command,
brickwall/cli/reach.py): tests pass fakes, nothing here needs the network to be tested.

Exit codes: 0 reachable, public workspace or first deployment; 1 invalid spec; 2 usage or environment (an unknown
stack without --base, no Pulumi CLI, no passphrase, an unreadable backend); 6 (UNREACHABLE, brickwall/exits.py) this
machine cannot reach the private workspace.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from brickwall import driver
from components.facts import ENDPOINTS
from components.private_link import DATABRICKS_ZONE  # the zone the endpoints register in, named in one place
from components.spec import EnvironmentSpec

RUNNER_VARIABLE = "PRIVATE_RUNNER_LABELS"  # the repository variable the workflows take private runners' labels from
OUTPUT = "workspaceUrl"  # the stack output __main__.py exports
PORT = 443  # the workspace UI and REST API (https)
TIMEOUT_SECONDS = 5.0

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
# host -> its addresses (CNAMEs followed); raises OSError (socket.gaierror) when it does not resolve.
Resolver = Callable[[str], list[str]]
# (address, port, timeout) -> None once a TCP connection is made; raises OSError (refused, timed out, no route).
Connector = Callable[[str, int, float], None]
# stack -> its outputs in the backend, or None when the backend holds no such stack; raises driver.DriverError.
OutputsReader = Callable[[str], Mapping[str, Any] | None]


def private_workspace(spec: EnvironmentSpec) -> bool:
    """The workspace takes no public traffic: only a network that resolves its private endpoint reaches it."""
    return spec.workspace.public_network_access == "Disabled"


def why(spec: EnvironmentSpec) -> str:
    if private_workspace(spec):
        return "workspace.public_network_access Disabled: only its private endpoints answer"
    return "workspace.public_network_access Enabled: its front end answers on the Internet"


def endpoint_subnets(spec: EnvironmentSpec) -> dict[str, ipaddress.IPv4Network]:
    """Where the spec puts endpoints that serve the workspace host: the transit VNet's endpoint subnet (front end,
    when the toolkit creates that VNet) and the workspace VNet's private-endpoint subnet (back end)."""
    out: dict[str, ipaddress.IPv4Network] = {}
    plan = spec.plan
    if plan.transit_endpoint_cidr is not None and spec.private_link.frontend:
        out["the transit endpoint subnet"] = ipaddress.IPv4Network(plan.transit_endpoint_cidr)
    if spec.private_link.backend and ENDPOINTS in plan.subnets.subnets:
        out["the workspace private-endpoint subnet"] = plan.subnets[ENDPOINTS]
    return out


def host_of(url: str) -> str:
    """`adb-1.2.azuredatabricks.net`, `https://adb-1.2.azuredatabricks.net/` -> the host name."""
    text = url.strip()
    return (urlsplit(text if "://" in text else f"https://{text}").hostname or "").lower()


def fix(stack: str) -> str:
    return (f"run this job from a network linked to {DATABRICKS_ZONE} (the transit VNet, or a VNet peered to it and "
            f"listed in {stack}'s private_link.transit.dns_link_vnet_ids): set the repository variable "
            f"{RUNNER_VARIABLE} to that runner's labels")


@dataclass(frozen=True)
class Verdict:
    reachable: bool  # False: exit UNREACHABLE
    line: str


def check(stack: str, spec: EnvironmentSpec, url: str | None, *, resolve: Resolver, connect: Connector,
          timeout: float = TIMEOUT_SECONDS) -> Verdict:
    if not private_workspace(spec):
        return Verdict(True, f"{stack}: {why(spec)}; any runner reaches it, no private network needed")
    if not url:
        return Verdict(True, f"{stack}: first deployment (no {OUTPUT} output in the backend yet): nothing to reach now; "
                             f"the deployment's own calls to the new workspace need this runner to resolve "
                             f"{DATABRICKS_ZONE} as well")
    host = host_of(url)
    if not host:
        return Verdict(False, f"{stack}: {url!r} names no host; give the workspace URL (adb-<id>.<n>.azuredatabricks.net)")
    try:
        found = list(dict.fromkeys(resolve(host)))
    except OSError as exc:
        return Verdict(False, f"{stack}: {host} does not resolve from this runner ({_reason(exc)}); {fix(stack)}")
    if not found:
        return Verdict(False, f"{stack}: {host} does not resolve from this runner (no address); {fix(stack)}")
    known = endpoint_subnets(spec)
    addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in found]  # an IPv6 scope (fe80::1%eth0) is no address
    public = [a for a in addresses if not _private(a, known)]
    if public:
        return Verdict(False, f"{stack}: {host} resolves to {public[0]} (public), so {DATABRICKS_ZONE} did not answer "
                              f"and {stack}'s workspace takes no public traffic; {fix(stack)}")
    failures = []
    for address in addresses:
        try:
            connect(str(address), PORT, timeout)
        except OSError as exc:
            failures.append(f"{address}:{PORT} {_reason(exc, timeout)}")
            continue
        where = next((f", in {name} {net}" for name, net in known.items() if address in net), "")
        return Verdict(True, f"{stack}: {host} resolves to {address} (private{where}) and TCP {PORT} connects: "
                             "this runner reaches the workspace")
    return Verdict(False, f"{stack}: {host} resolves to a private address but {'; '.join(failures)}: DNS is right, the "
                          f"path is not; let this runner's subnet reach the endpoint on {PORT} (VNet peering to the "
                          "transit VNet, route tables, NSGs and firewalls on the way)")


def _private(address: Address, known: Mapping[str, ipaddress.IPv4Network]) -> bool:
    """A private endpoint's address: RFC 1918 and the like, or inside a subnet the spec gives its endpoints (a VNet
    may use any range)."""
    return address.is_private or any(address in net for net in known.values())


def _reason(exc: OSError, timeout: float | None = None) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError):
        return f"timed out after {timeout:g} s" if timeout is not None else "timed out"
    return exc.strerror or str(exc) or type(exc).__name__


# --- the real resolver, connector and outputs reader ----------------------------------------------------------

def system_resolve(host: str) -> list[str]:
    """What this machine's resolver answers (the VNet's DNS on an Azure runner), CNAME chain followed."""
    return [str(info[4][0]) for info in socket.getaddrinfo(host, PORT, proto=socket.IPPROTO_TCP)]


def tcp_connect(address: str, port: int, timeout: float) -> None:
    with socket.create_connection((address, port), timeout=timeout):
        pass


def backend_outputs(backend: str, secrets_provider: str | None) -> OutputsReader:
    """Reads a stack's outputs through the Automation API, as `env up|preview|destroy` reach their stacks."""
    factory = driver.automation_stack_factory(backend, secrets_provider=secrets_provider)  # DriverError without the CLI

    def read(name: str) -> Mapping[str, Any] | None:
        try:
            stack = factory(name, False)
            outputs = stack.outputs()  # type: ignore[attr-defined]
        except driver.StackMissingError:
            return None
        except Exception as exc:  # pulumi.automation.CommandError: a backend, login or passphrase problem
            raise driver.DriverError(f"cannot read the outputs of {name} in {backend}: {driver._first_line(exc)}") from exc
        return {k: getattr(v, "value", v) for k, v in outputs.items()}

    return read


def outputs_reader(backend: str | None, secrets_provider: str | None, state_dir: Path,
                   environ: Mapping[str, str]) -> OutputsReader:
    """The backend's outputs reader as `reach` and `audit` find it: the backend given, else $BRICKWALL_BACKEND, else
    $PULUMI_BACKEND_URL, else the state directory's file backend; DriverError without a passphrase or the CLI."""
    explicit = backend or environ.get(driver.BACKEND_ENV) or environ.get("PULUMI_BACKEND_URL")
    resolved = driver.resolve_backend(explicit, state_dir, environ)
    secrets = secrets_provider or environ.get(driver.SECRETS_PROVIDER_ENV) or None
    driver.check_secrets(resolved, secrets, environ)
    return backend_outputs(resolved, secrets)
