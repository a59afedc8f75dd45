"""The spec, read once into the environment's plan (`components/planning/environment.py` EnvironmentPlan).

Every decision of what exists, where and under which name is taken here, from the validated spec, by the pure planners
(given plain values: the planners never import the spec). `EnvironmentSpec.plan` caches the result; the environment
component, the report, the reachability explorer and the log audit read that plan.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from components.facts import AKS, BASTION, CONTAINER, ENDPOINTS, HOST, JUMP_HOST, TRANSIT_ENDPOINTS
from components.planning import diagnostics
from components.planning.bastion import transit_layout
from components.planning.combined import Ingress, corporate_ranges, firewall_egress
from components.planning.data_paths import present_classes
from components.planning.environment import LAKE_TARGET, WORKSPACE_STORAGE_TARGET, EnvironmentPlan, Parts
from components.planning.firewall import firewall_subnet, hub_names, rule_collection_group
from components.planning.front_end import FrontEnd, IpAccess
from components.planning.ingress import Connector, TierLayout, creates_aks
from components.planning.naming import ncc_name
from components.planning.reachability import network_inputs

if TYPE_CHECKING:
    from components.spec.models import EnvironmentSpec


def _parts(spec: EnvironmentSpec) -> Parts:
    ingress, pl, enc, data, mon = spec.ingress, spec.private_link, spec.encryption, spec.data, spec.monitoring
    transit_endpoints = pl.frontend or pl.browser_authentication != "none"
    transit = pl.transit is not None and (transit_endpoints or bool(spec.bastion.enabled))
    firewall = spec.network.egress.mode == "firewall"
    hub = spec.network.egress.hub
    return Parts(
        ingress=ingress.enabled,
        aks=creates_aks(ingress.enabled, ingress.cluster),
        firewall_egress=firewall,
        creates_hub=firewall and hub is not None and hub.create,
        transit=transit,
        transit_endpoints=transit and transit_endpoints,
        # rules._bastion: the bastion sits in a transit VNet the toolkit creates.
        bastion=transit and bool(spec.bastion.enabled),
        customer_managed_keys=enc.customer_managed_keys,
        # An existing vault keeps its own endpoints and diagnostics; only a vault the toolkit creates is ours.
        creates_key_vault=enc.customer_managed_keys and enc.key_vault is not None and enc.key_vault.existing_id is None,
        lake=data.lake.enabled,
        creates_lake=data.lake.enabled and data.lake.existing_storage_account_id is None,
        sql=data.sql.enabled,
        monitor_private_link=mon.private_link.enabled,
        flow_logs=mon.flow_logs.enabled,
        siem=mon.siem.event_hub,
        serverless_connectivity=spec.serverless.network_connectivity.enabled,
        metastore=spec.unity_catalog.metastore_id is not None,
        diagnostics=mon.diagnostics,
        locks=spec.protection.locks,
    )


def _diagnostic_kinds(parts: Parts) -> tuple[str, ...]:
    """The kinds of resource this environment creates and audits (the SIEM export carries their tables)."""
    if not parts.diagnostics:
        return ()
    kinds = [diagnostics.DATABRICKS]
    if parts.aks:
        kinds.append(diagnostics.AKS)
    if parts.creates_key_vault:
        kinds.append(diagnostics.KEY_VAULT)
    if parts.creates_lake:
        kinds.append(diagnostics.STORAGE_BLOB)
    if parts.sql:
        kinds.append(diagnostics.SQL_AUDIT)
    return tuple(kinds)


def _tier(spec: EnvironmentSpec, parts: Parts) -> TierLayout:
    """What the ingress tier's NetworkPolicies are built from (also read by the flow tests)."""
    ingress, subnets = spec.ingress, spec.network.plan
    routes_open = any(not r.allow_cidrs for r in ingress.routes)
    clients = () if routes_open else tuple(sorted({c for r in ingress.routes for c in r.allow_cidrs}))
    # For a cluster the toolkit creates, the policies take its AKS subnet as the API server's range; an existing
    # cluster names its own.
    api = str(subnets[AKS]) if parts.aks else ingress.api_server_cidr
    assert api is not None  # rules: an existing cluster names its API server's range
    return TierLayout(
        ingress_namespace=ingress.namespace,
        apps_namespace=ingress.apps_namespace,
        connectors=tuple(Connector(c.name, c.port) for c in ingress.connectors),
        client_cidrs=clients,
        databricks_endpoint_cidr=str(subnets[ENDPOINTS]),
        approved_egress_cidrs=ingress.approved_egress_cidrs,
        api_server_cidr=api,
        oauth2_proxy=ingress.oauth2_proxy is not None,
        acme=any(r.certificate_issuer == "acme" for r in ingress.routes),
        metrics_namespace=ingress.metrics_namespace,
    )


def plan_environment(spec: EnvironmentSpec) -> EnvironmentPlan:
    """The plan of a validated spec (use `spec.plan`: it is computed once)."""
    parts = _parts(spec)
    net, ingress, pl, mon = spec.network, spec.ingress, spec.private_link, spec.monitoring
    subnets, names = net.plan, spec.names
    hub = hub_names(names.resource_group, names.virtual_network, spec.name)
    egress = net.egress
    hub_spec = egress.hub

    transit = pl.transit
    transit_cidr = bastion_cidr = jump_cidr = None
    if parts.transit and transit is not None and transit.address_space is not None:
        # rules._bastion: the bastion sits in a transit VNet the toolkit creates.
        layout = transit_layout(transit.address_space, transit.private_endpoint_prefix_length,
                                *((spec.bastion.subnet_prefix_length, spec.bastion.jump_host_subnet_prefix_length)
                                  if parts.bastion else ()))
        transit_cidr = str(layout[TRANSIT_ENDPOINTS])
        if parts.bastion:
            bastion_cidr, jump_cidr = str(layout[BASTION]), str(layout[JUMP_HOST])

    aks_cidr = str(subnets[AKS]) if parts.aks else None
    firewall_rules = None
    if parts.firewall_egress:
        firewall_rules = rule_collection_group(
            hub.rule_collection_group, spec.region, (str(subnets[HOST]), str(subnets[CONTAINER])),
            backend_private_link=pl.backend,
            allow_internet_outbound=egress.allow_internet_outbound,
            # The AKS subnet shares the workspace route table: its nodes leave through the firewall too.
            aks_source=aks_cidr,
            aks_private_api_server=ingress.aks.private_api_server,
        )
    classes = present_classes(
        backend=pl.backend, workspace_storage=pl.workspace_storage, lake=parts.lake, sql=parts.sql,
        key_vault=parts.creates_key_vault, monitor=parts.monitor_private_link,
        siem=mon.siem.event_hub and mon.siem.private_endpoint,
    )
    acme = any(r.certificate_issuer == "acme" for r in ingress.routes)
    ip = spec.access.ip_access
    ncc = spec.serverless.network_connectivity
    tier = _tier(spec, parts) if parts.ingress else None
    return EnvironmentPlan(
        name=spec.name,
        region=spec.region,
        parts=parts,
        subnets=subnets,
        transit_endpoint_cidr=transit_cidr,
        bastion_cidr=bastion_cidr,
        jump_host_cidr=jump_cidr,
        hub_firewall_subnet_cidr=(firewall_subnet(hub_spec.address_space[0], hub_spec.firewall_subnet_prefix_length)
                                  if parts.creates_hub and hub_spec is not None else None),
        names=names,
        hub_names=hub,
        ncc_name=(ncc.name or ncc_name(spec.naming.prefix, spec.name)) if parts.serverless_connectivity else None,
        serverless_targets=tuple(key for key, wanted in ((WORKSPACE_STORAGE_TARGET, ncc.workspace_storage),
                                                         (LAKE_TARGET, ncc.lake and parts.lake))
                                 if wanted and parts.serverless_connectivity),
        network=network_inputs(
            vnet=net.address_space, subnets=subnets, creates_aks=parts.aks,
            required_nsg_rules=spec.workspace.required_nsg_rules, allow_internet_outbound=egress.allow_internet_outbound,
            endpoint_classes=classes, internal_load_balancer=ingress.load_balancer == "internal",
            load_balancer_source_ranges=ingress.load_balancer_source_ranges, acme=acme,
        ),
        front_end=FrontEnd(
            public_network_access=spec.workspace.public_network_access,
            ip_access=IpAccess(enabled=ip.enabled, allow=tuple(ip.allow_lists()),
                               block=tuple((b.label, b.cidrs) for b in ip.block)),
            vnet=net.address_space, backend_endpoint=pl.backend,
            frontend_endpoint=pl.frontend and transit is not None,
            transit=transit.address_space if transit else None,
        ),
        corporate=corporate_ranges(
            [*ingress.load_balancer_source_ranges, *(c for r in ingress.routes for c in r.allow_cidrs)]
            if ingress.enabled else [], net.address_space),
        egress=(firewall_egress(egress.firewall_private_ip, hub.rule_collection_group) if parts.firewall_egress
                else "NAT gateway"),
        firewall_private_ip=egress.firewall_private_ip,
        firewall_rules=firewall_rules,
        tier=tier,
        load_balancer=(Ingress(ingress.load_balancer, ingress.load_balancer_source_ranges, tier)
                       if parts.aks and tier is not None else None),
        diagnostic_kinds=_diagnostic_kinds(parts),
    )
