"""Azure regions where Azure Databricks runs, with the short codes used in resource names."""

from __future__ import annotations

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


def region_code(region: str) -> str:
    return DATABRICKS_REGIONS[region]
