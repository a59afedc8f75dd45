"""The typed environment spec: one validated EnvironmentSpec per environment.

An EnvironmentSpec that exists is valid: field rules run on every section and the
cross-field rules run once the sections are valid, and every problem is reported at once
with its field path. Unset fields take the tier's defaults (`tiers.TIER_DEFAULTS`); a value
weaker than the tier's floor (`tiers.TIER_FLOORS`) is an error, never a silent downgrade.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
from collections.abc import Callable
from enum import StrEnum
from functools import cached_property
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel, Field, TypeAdapter, ValidationError, ValidationInfo, field_validator, model_validator

from components.facts import AKS, CONTAINER, DATABRICKS_REGIONS, ENDPOINTS, HOST
from components.planning.addresses import (
    AddressPlanError,
    SubnetPlan,
    SubnetRequest,
    carve_subnets,
    max_cluster_nodes,
    parse_network,
    usable_addresses,
)
from components.planning.environment import EnvironmentPlan
from components.planning.naming import NamePlan, plan_names
from components.planning.vnet_encryption import SUPPORTED_ENFORCEMENT
from components.spec.access import AccessSpec
from components.spec.audit import MonitoringSpec
from components.spec.base import StrictModel, cidr_problem
from components.spec.bastion import BastionSpec
from components.spec.compliance import EnhancedSecuritySpec
from components.spec.data import DataSpec
from components.spec.encryption import EncryptionSpec
from components.spec.errors import Problem, problems_from, raise_problems
from components.spec.firewall import HubSpec
from components.spec.ingress import IngressSpec
from components.spec.plan import plan_environment
from components.spec.rules import PartialSpec, cross_field_problems, partial_problems
from components.spec.serverless import ServerlessSpec, UnityCatalogSpec
from components.spec.stamping import StampingSpec
from components.spec.tiers import apply_tier_defaults

# Azure Databricks VNet injection limits.
VNET_PREFIX_RANGE = (16, 24)
WORKSPACE_SUBNET_PREFIX_RANGE = (18, 26)
ENDPOINT_SUBNET_PREFIX_RANGE = (24, 29)



class Tier(StrEnum):
    DEV = "dev"
    STAGING = "staging"
    PROD = "prod"



def _workspace_subnet_problem(prefix: int) -> str | None:
    lo, hi = WORKSPACE_SUBNET_PREFIX_RANGE
    if lo <= prefix <= hi:
        return None
    nodes = usable_addresses(ipaddress.IPv4Network(f"10.0.0.0/{hi}"))
    return (f"/{prefix}: Azure Databricks needs host and container subnets between /{lo} and /{hi} "
            f"(a /{hi} leaves {nodes} usable addresses, so at most {nodes} cluster nodes)")


def _aks_subnet_problem(prefix: int) -> str | None:
    return None if 16 <= prefix <= 28 else f"/{prefix}: an AKS subnet needs /16 to /28"


def _endpoint_subnet_problem(prefix: int) -> str | None:
    lo, hi = ENDPOINT_SUBNET_PREFIX_RANGE
    return None if lo <= prefix <= hi else f"/{prefix}: keep the private-endpoint subnet between /{lo} and /{hi}"


class SubnetLayout(StrictModel):
    """Sizes (or exact ranges) of the subnets carved from the workspace VNet.

    Sized subnets are carved in a fixed order, so changing one prefix length can move the subnets after it; a
    deployed environment pins its ranges (`*_cidr`, what `plan` printed) so a resize moves nothing else. Azure
    refuses to re-address a subnet that holds NICs, endpoints or a delegation: `brickwall diff` flags it (IN USE)."""

    host_prefix_length: int = 22
    container_prefix_length: int = 22
    private_endpoint_prefix_length: int = 27
    host_cidr: str | None = None
    container_cidr: str | None = None
    private_endpoint_cidr: str | None = None
    # Address room kept free for the AKS subnet of the ingress tier (a size, or its exact range).
    aks_prefix_length: int | None = None
    aks_cidr: str | None = None

    @field_validator("host_prefix_length", "container_prefix_length")
    @classmethod
    def _workspace_prefix(cls, v: int) -> int:
        if bad := _workspace_subnet_problem(v):
            raise ValueError(bad)
        return v

    @field_validator("private_endpoint_prefix_length")
    @classmethod
    def _endpoint_prefix(cls, v: int) -> int:
        if bad := _endpoint_subnet_problem(v):
            raise ValueError(bad)
        return v

    @field_validator("aks_prefix_length")
    @classmethod
    def _aks_prefix(cls, v: int | None) -> int | None:
        if v is not None and (bad := _aks_subnet_problem(v)):
            raise ValueError(bad)
        return v

    @field_validator("aks_cidr")
    @classmethod
    def _aks_cidr(cls, v: str | None) -> str | None:
        if v is None:
            return v
        if bad := cidr_problem(v):
            raise ValueError(bad)
        if bad := _aks_subnet_problem(parse_network(v).prefixlen):
            raise ValueError(bad)
        return v

    @model_validator(mode="after")
    def _one_aks_form(self) -> SubnetLayout:
        if self.aks_cidr is not None and self.aks_prefix_length is not None:
            raise_problems([Problem(("aks_cidr",), "give the AKS subnet as a size or as a range, not both")])
        return self

    @property
    def aks_subnet_prefix(self) -> int | None:
        """The AKS subnet's prefix length, however it is given (None: no AKS subnet)."""
        return parse_network(self.aks_cidr).prefixlen if self.aks_cidr else self.aks_prefix_length

    @field_validator("host_cidr", "container_cidr", "private_endpoint_cidr")
    @classmethod
    def _cidr(cls, v: str | None, info: ValidationInfo) -> str | None:
        if v is None:
            return v
        if bad := cidr_problem(v):
            raise ValueError(bad)
        prefix = parse_network(v).prefixlen
        check = _endpoint_subnet_problem if info.field_name == "private_endpoint_cidr" else _workspace_subnet_problem
        if bad := check(prefix):
            raise ValueError(bad)
        return v


class EgressSpec(StrictModel):
    """How cluster nodes reach the Internet: a NAT gateway, or the Azure Firewall of a hub as next hop.

    The mode's needs (a hub and, for an existing hub, the firewall's private IP inside the hub) are cross-field
    rules (`rules._egress_mode`, `rules._firewall_hub`), so they are reported even when another part is invalid."""

    mode: Literal["nat_gateway", "firewall"] = "nat_gateway"
    # An existing hub's firewall private IP (a created hub's firewall gets its own from AzureFirewallSubnet).
    firewall_private_ip: str | None = None
    # The hub the firewall lives in (components/spec/firewall.py); needed with mode 'firewall'.
    hub: HubSpec | None = None
    nat_idle_timeout_minutes: int = Field(default=4, ge=4, le=120)
    allow_internet_outbound: bool = False

    @field_validator("firewall_private_ip")
    @classmethod
    def _private_ip(cls, v: str | None) -> str | None:
        if v is None:
            return v
        try:
            ip = ipaddress.IPv4Address(v)
        except ValueError:
            raise ValueError(f"{v!r} is not an IPv4 address") from None
        if not ip.is_private:
            raise ValueError(f"{ip} is not a private address; the next hop must be the firewall's private IP")
        return v


# Address space a VNet should take: RFC 1918 private ranges and the RFC 6598 shared range. Azure accepts public ranges
# in a VNet but then routes that public range into the VNet, away from its real owner (Microsoft Learn, "Virtual
# network concepts and best practices": use the private ranges of RFC 1918).
VNET_PRIVATE_RANGES = tuple(ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"))


class VnetEncryptionSpec(StrictModel):
    """Azure Virtual Network encryption on the workspace VNet: traffic between its VMs (cluster nodes, AKS nodes) is
    encrypted by the Azure hosts (DTLS), for the VM sizes Azure supports (components/planning/vnet_encryption.py)."""

    enabled: bool = True
    # ARM `encryption.enforcement`; Azure supports only AllowUnencrypted at general availability
    # (https://learn.microsoft.com/azure/virtual-network/virtual-network-encryption-overview, "Limitations").
    enforcement: Literal["AllowUnencrypted", "DropUnencrypted"] = "AllowUnencrypted"

    @field_validator("enforcement")
    @classmethod
    def _enforcement(cls, v: str) -> str:
        if v != SUPPORTED_ENFORCEMENT:
            raise ValueError(f"{v}: Azure supports only {SUPPORTED_ENFORCEMENT} at general availability "
                             "(DropUnencrypted is announced for the future); unsupported VM sizes are rejected by the spec instead")
        return v


class NetworkSpec(StrictModel):
    address_space: str
    subnets: SubnetLayout = SubnetLayout()
    egress: EgressSpec = EgressSpec()
    # Opt in to an address space outside the private ranges (it shadows that public range for everything in the VNet).
    allow_public_address_space: bool = False
    vnet_encryption: VnetEncryptionSpec = VnetEncryptionSpec()

    @field_validator("address_space")
    @classmethod
    def _address_space(cls, v: str) -> str:
        if bad := cidr_problem(v):
            raise ValueError(bad)
        prefix = parse_network(v).prefixlen
        lo, hi = VNET_PREFIX_RANGE
        if not lo <= prefix <= hi:
            raise ValueError(f"/{prefix}: Azure Databricks needs a VNet between /{lo} and /{hi}")
        return v

    @model_validator(mode="after")
    def _private_space(self) -> NetworkSpec:
        if cidr_problem(self.address_space) or self.allow_public_address_space:
            return self
        net = parse_network(self.address_space)
        if not any(net.subnet_of(r) for r in VNET_PRIVATE_RANGES):
            raise_problems([Problem(("address_space",), f"{net} is outside the private ranges (10.0.0.0/8, 172.16.0.0/12, "
                                    "192.168.0.0/16, 100.64.0.0/10): traffic to that public range would stay inside the "
                                    "VNet; pick a private range, or set allow_public_address_space if you own it")])
        return self

    @model_validator(mode="after")
    def _layout(self) -> NetworkSpec:
        try:
            carve_subnets(self.address_space, self._requests())
        except AddressPlanError as exc:
            fields = {HOST: "host", CONTAINER: "container", ENDPOINTS: "private_endpoint", AKS: "aks"}
            raise_problems(
                [Problem(("subnets", self._field_of(fields[name])), reason) for name, reason in exc.problems]
            )
        return self

    def _field_of(self, name: str) -> str:
        if name == "aks":
            return "aks_cidr" if self.subnets.aks_cidr else "aks_prefix_length"
        return f"{name}_cidr" if getattr(self.subnets, f"{name}_cidr") else f"{name}_prefix_length"

    def _requests(self) -> list[SubnetRequest]:
        s = self.subnets
        reqs = [
            SubnetRequest(HOST, cidr=s.host_cidr) if s.host_cidr else SubnetRequest(HOST, s.host_prefix_length),
            SubnetRequest(CONTAINER, cidr=s.container_cidr) if s.container_cidr else SubnetRequest(CONTAINER, s.container_prefix_length),
            SubnetRequest(ENDPOINTS, cidr=s.private_endpoint_cidr)
            if s.private_endpoint_cidr else SubnetRequest(ENDPOINTS, s.private_endpoint_prefix_length),
        ]
        if s.aks_cidr is not None:
            reqs.append(SubnetRequest(AKS, cidr=s.aks_cidr))
        elif s.aks_prefix_length is not None:
            reqs.append(SubnetRequest(AKS, s.aks_prefix_length))
        return reqs

    @cached_property
    def plan(self) -> SubnetPlan:
        return carve_subnets(self.address_space, self._requests())

    @property
    def max_cluster_nodes(self) -> int:
        return max_cluster_nodes(self.plan[HOST], self.plan[CONTAINER])


class WorkspaceSpec(StrictModel):
    sku: Literal["premium"] = "premium"
    public_network_access: Literal["Enabled", "Disabled"] = "Disabled"
    required_nsg_rules: Literal["AllRules", "NoAzureDatabricksRules"] = "NoAzureDatabricksRules"
    # Secure cluster connectivity: no public IP on any cluster node. Never turned off.
    no_public_ip: bool = True
    storage_account_sku: Literal[
        "Standard_LRS", "Standard_ZRS", "Standard_GRS", "Standard_RAGRS", "Standard_GZRS", "Standard_RAGZRS"
    ] = "Standard_ZRS"
    # Workspace storage reachable only through its private endpoints, via an access connector.
    default_storage_firewall: bool = True
    # The Enhanced Security and Compliance add-on (components/spec/compliance.py), set on the workspace.
    enhanced_security: EnhancedSecuritySpec = EnhancedSecuritySpec()


_ARM_VNET = re.compile(r"/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[^/]+/providers/Microsoft\.Network/virtualNetworks/[^/]+", re.I)
_ARM_SUBNET = re.compile(_ARM_VNET.pattern + r"/subnets/[^/]+", re.I)


class TransitNetworkSpec(StrictModel):
    """Where front-end and browser-authentication endpoints live: a VNet the toolkit creates, or an existing one."""

    address_space: str | None = None
    private_endpoint_prefix_length: int = Field(default=27, ge=24, le=29)
    existing_vnet_id: str | None = None
    existing_subnet_id: str | None = None
    # Further VNets (hub, peered, resolver) that must resolve the workspace's private front end.
    dns_link_vnet_ids: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _one_source(self) -> TransitNetworkSpec:
        problems = []
        existing = (self.existing_vnet_id, self.existing_subnet_id)
        if self.address_space is None and None in existing:
            problems.append(Problem(("address_space",),
                                    "give address_space to create a transit VNet, or both existing_vnet_id and existing_subnet_id"))
        if self.address_space is not None and any(existing):
            problems.append(Problem(("address_space",), "give address_space or existing_vnet_id/existing_subnet_id, not both"))
        if self.address_space is not None and (bad := cidr_problem(self.address_space)):
            problems.append(Problem(("address_space",), bad))
        if self.existing_vnet_id is not None and not _ARM_VNET.fullmatch(self.existing_vnet_id):
            problems.append(Problem(("existing_vnet_id",), "not a virtual network resource id "
                                    "(/subscriptions/<guid>/resourceGroups/<rg>/providers/Microsoft.Network/virtualNetworks/<name>)"))
        if self.existing_subnet_id is not None:
            if not _ARM_SUBNET.fullmatch(self.existing_subnet_id):
                problems.append(Problem(("existing_subnet_id",), "not a subnet resource id (<virtual network id>/subnets/<name>)"))
            elif self.existing_vnet_id and not self.existing_subnet_id.lower().startswith(self.existing_vnet_id.lower() + "/subnets/"):
                problems.append(Problem(("existing_subnet_id",), "is not a subnet of existing_vnet_id"))
        for i, vnet_id in enumerate(self.dns_link_vnet_ids):
            if not _ARM_VNET.fullmatch(vnet_id):
                problems.append(Problem(("dns_link_vnet_ids", i), "not a virtual network resource id"))
        if problems:
            raise_problems(problems)
        return self


class PrivateLinkSpec(StrictModel):
    backend: bool = True
    frontend: bool = True
    # Browser (SSO) authentication endpoint, one per region: on this workspace or on a dedicated web-auth workspace.
    browser_authentication: Literal["none", "this_workspace", "dedicated_workspace"] = "this_workspace"
    # dfs and blob endpoints for the workspace's own storage account.
    workspace_storage: bool = True
    transit: TransitNetworkSpec | None = None


class ProtectionSpec(StrictModel):
    # protect + retainOnDelete on data-bearing resources (the workspace and its storage).
    protect_data: bool = True
    # CanNotDelete management locks on the workspace, the data lake, the Key Vault and Log Analytics.
    locks: bool = True


class NamingSpec(StrictModel):
    prefix: str = "bw"
    # Makes globally unique names (storage accounts) unique to your organisation; a stable hash otherwise.
    unique_suffix: str | None = None

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, v: str) -> str:
        if not re.fullmatch(r"[a-z][a-z0-9]{1,5}", v):
            raise ValueError("2-6 lowercase letters or digits, starting with a letter")
        return v

    @field_validator("unique_suffix")
    @classmethod
    def _suffix(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"[a-z0-9]{3,6}", v):
            raise ValueError("3-6 lowercase letters or digits")
        return v


_TAG_KEY_FORBIDDEN = set('<>%&\\?/')


class EnvironmentSpec(StrictModel):
    """One environment. Later concerns (access control, ingress tier, monitoring, keys) join as optional
    sections beside `workspace` and `private_link`, each its own model with its tier defaults and floors."""

    name: str
    tier: Tier
    region: str
    naming: NamingSpec = NamingSpec()
    tags: dict[str, str] = Field(default_factory=dict)
    network: NetworkSpec
    workspace: WorkspaceSpec = WorkspaceSpec()
    private_link: PrivateLinkSpec = PrivateLinkSpec()
    protection: ProtectionSpec = ProtectionSpec()
    access: AccessSpec = AccessSpec()
    ingress: IngressSpec = IngressSpec()
    monitoring: MonitoringSpec = MonitoringSpec()
    data: DataSpec = DataSpec()
    encryption: EncryptionSpec = EncryptionSpec()
    stamping: StampingSpec = StampingSpec()
    # The engineers' way in: Azure Bastion and a jump host in the transit VNet (components/spec/bastion.py).
    bastion: BastionSpec = BastionSpec()
    # Serverless compute's private reach (a network connectivity configuration) and the Unity Catalog metastore
    # (components/spec/serverless.py): account-level, through the account provider.
    serverless: ServerlessSpec = ServerlessSpec()
    unity_catalog: UnityCatalogSpec = UnityCatalogSpec()

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", v) or not 2 <= len(v) <= 12:
            raise ValueError("2-12 lowercase letters, digits and single hyphens, starting with a letter (it goes into every resource name)")
        return v

    @field_validator("region")
    @classmethod
    def _region(cls, v: str) -> str:
        if v not in DATABRICKS_REGIONS:
            near = [r for r in DATABRICKS_REGIONS if r.startswith(v[:4].lower())] or sorted(DATABRICKS_REGIONS)[:6]
            raise ValueError(f"unknown Azure Databricks region {v!r}; known regions include {', '.join(near)}")
        return v

    @field_validator("tags")
    @classmethod
    def _tags(cls, v: dict[str, str]) -> dict[str, str]:
        bad = []
        for key, value in v.items():
            if not 1 <= len(key) <= 512 or _TAG_KEY_FORBIDDEN & set(key):
                bad.append(f"key {key!r} must be 1-512 characters without < > % & \\ ? /")
            if len(value) > 256:
                bad.append(f"value of {key!r} is longer than 256 characters")
        if len(v) > 40:
            bad.append(f"{len(v)} tags; keep at most 40 (Azure allows 50 and the toolkit adds its own)")
        if bad:
            raise ValueError("; ".join(bad))
        return v

    @model_validator(mode="before")
    @classmethod
    def _tier_defaults(cls, data: Any) -> Any:
        return apply_tier_defaults(data)

    @model_validator(mode="after")
    def _cross_checks(self) -> EnvironmentSpec:
        if problems := cross_field_problems(self):
            raise_problems(problems)
        return self

    @model_validator(mode="wrap")
    @classmethod
    def _report_everything(cls, data: Any, handler: Any) -> Any:
        """When a section is invalid, still run every cross-field rule the valid sections allow."""
        try:
            return handler(data)
        except ValidationError as exc:
            first = problems_from(exc)
            extra = partial_problems(_valid_sections(data)) if isinstance(data, dict) else []
            seen = {(p.path, p.reason) for p in first}
            raise_problems(first + [p for p in extra if (p.path, p.reason) not in seen])

    @cached_property
    def names(self) -> NamePlan:
        return plan_names(self.naming.prefix, self.name, self.region, self.naming.unique_suffix)

    @cached_property
    def plan(self) -> EnvironmentPlan:
        """The plan of the environment (what exists, every address range, every name), decided once."""
        return plan_environment(self)

    @property
    def all_tags(self) -> dict[str, str]:
        """The spec's tags plus the ones the toolkit always sets."""
        return {**self.tags, "environment": self.name, "tier": self.tier.value, "managed-by": "brickwall"}


_SECTIONS: dict[str, type[BaseModel]] = {
    "naming": NamingSpec, "network": NetworkSpec, "workspace": WorkspaceSpec,
    "private_link": PrivateLinkSpec, "protection": ProtectionSpec, "access": AccessSpec, "ingress": IngressSpec,
    "monitoring": MonitoringSpec, "data": DataSpec, "encryption": EncryptionSpec, "stamping": StampingSpec,
    "bastion": BastionSpec, "serverless": ServerlessSpec, "unity_catalog": UnityCatalogSpec,
}


def _partial(model: type[BaseModel], data: Any) -> Any:
    """`data` as a valid model or, when part of it is invalid, a PartialSpec of the fields pydantic did not
    fault (nested models and tuples of models recursively, items keeping their index), so the rules that
    read only those fields still run. None when nothing is usable."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        faulted: dict[str, set[Any]] = {}
        for err in exc.errors():
            if err["loc"]:
                faulted.setdefault(str(err["loc"][0]), set()).add(err["loc"][1] if len(err["loc"]) > 1 else None)
    if not isinstance(data, dict):
        return None
    valid: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        if name not in data:
            if not field.is_required():
                valid[name] = field.get_default(call_default_factory=True)
            continue
        annotation, value = field.annotation, data[name]
        if name not in faulted:
            with contextlib.suppress(ValidationError):
                valid[name] = TypeAdapter(annotation).validate_python(value)
        elif (section := _model_of(annotation)) is not None:
            if (part := _partial(section, value)) is not None:
                valid[name] = part
        elif get_origin(annotation) is tuple and isinstance(value, (list, tuple)):
            item_model = get_args(annotation)[0]
            if isinstance(item_model, type) and issubclass(item_model, BaseModel):
                items = [_partial(item_model, item) for item in value]
                valid[name] = tuple(item if item is not None else PartialSpec({}) for item in items)
    return PartialSpec(valid)


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The model of a field typed `Model` or `Model | None`, else None."""
    options = [annotation] if isinstance(annotation, type) else [a for a in get_args(annotation) if a is not type(None)]
    if len(options) == 1 and isinstance(options[0], type) and issubclass(options[0], BaseModel):
        return options[0]
    return None


def _valid_sections(data: dict[str, Any]) -> dict[str, Any]:
    """Each top-level field and section of `data` that validates on its own (tier defaults applied)."""
    data = apply_tier_defaults(data)
    valid: dict[str, Any] = {}
    for key, model in _SECTIONS.items():
        part = _partial(model, data.get(key, {}))
        if part is not None:
            valid[key] = part
    checks: dict[str, Callable[[Any], Any]] = {
        "name": EnvironmentSpec._name, "region": EnvironmentSpec._region, "tags": EnvironmentSpec._tags,
    }
    for key, check in checks.items():
        try:
            valid[key] = check(data[key])
        except (KeyError, TypeError, ValueError, AttributeError):
            continue
    with contextlib.suppress(ValueError):
        valid["tier"] = Tier(str(getattr(data.get("tier"), "value", data.get("tier"))))
    return valid
