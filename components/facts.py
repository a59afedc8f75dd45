"""Facts shared by the spec, the planners and the components, in one dependency-free module.

Nothing here imports anything from the project (tests/test_conventions.py checks it): the spec validates with these
facts, the planners plan with them, and neither has to import the other to learn them.
"""

from __future__ import annotations

import ipaddress

# --- the workspace VNet's subnets, as keys of the address plan (components/planning/addresses.py SubnetPlan) --------
HOST, CONTAINER, ENDPOINTS, AKS = "host", "container", "private_endpoints", "aks"
# --- the transit VNet's subnets (components/planning/bastion.py transit_layout) -------------------------------------
TRANSIT_ENDPOINTS, BASTION, JUMP_HOST = "endpoints", "bastion", "jump_host"

# --- non-public address ranges ----------------------------------------------------------------------------------------
# Addresses outside Azure's Internet tag wherever they are: private, shared, loopback, link-local, reserved. A
# workspace IP access list only ever sees public source addresses, so these never belong in one either.
NON_PUBLIC_CIDRS = (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24",
    "224.0.0.0/4", "240.0.0.0/4",
)
NON_PUBLIC = tuple(ipaddress.IPv4Network(c) for c in NON_PUBLIC_CIDRS)
# The private, shared, link-local and loopback ranges a pod may address (a subset of NON_PUBLIC, in the order the
# ingress tier's NetworkPolicies list them as the exceptions to "the Internet", 0.0.0.0/0).
POD_NON_PUBLIC_CIDRS = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16", "127.0.0.0/8")

# --- regions ----------------------------------------------------------------------------------------------------------
# Public-cloud regions with Azure Databricks; the short code keeps names within Azure's limits.
DATABRICKS_REGIONS: dict[str, str] = {
    "australiacentral": "auc",
    "australiacentral2": "auc2",
    "australiaeast": "aue",
    "australiasoutheast": "ause",
    "brazilsouth": "brs",
    "canadacentral": "cac",
    "canadaeast": "cae",
    "centralindia": "inc",
    "centralus": "cus",
    "eastasia": "ea",
    "eastus": "eus",
    "eastus2": "eus2",
    "francecentral": "frc",
    "germanywestcentral": "gwc",
    "italynorth": "itn",
    "japaneast": "jpe",
    "japanwest": "jpw",
    "koreacentral": "krc",
    "mexicocentral": "mxc",
    "northcentralus": "ncus",
    "northeurope": "neu",
    "norwayeast": "noe",
    "polandcentral": "plc",
    "qatarcentral": "qac",
    "southafricanorth": "san",
    "southcentralus": "scus",
    "southeastasia": "sea",
    "southindia": "ins",
    "spaincentral": "spc",
    "swedencentral": "sdc",
    "switzerlandnorth": "szn",
    "switzerlandwest": "szw",
    "uaenorth": "uaen",
    "uksouth": "uks",
    "ukwest": "ukw",
    "westcentralus": "wcus",
    "westeurope": "weu",
    "westindia": "inw",
    "westus": "wus",
    "westus2": "wus2",
    "westus3": "wus3",
}
