"""Azure regions where Azure Databricks runs, with the short codes used in resource names."""

from __future__ import annotations

from components.facts import DATABRICKS_REGIONS

__all__ = ["DATABRICKS_REGIONS", "region_code"]


def region_code(region: str) -> str:
    return DATABRICKS_REGIONS[region]
