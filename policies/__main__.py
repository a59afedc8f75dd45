"""The brickwall policy pack: `pulumi preview --policy-pack policies`. The rules live in brickwall_rules."""

from brickwall_rules import ALL
from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack(
    "brickwall-guardrails",
    policies=ALL,
    enforcement_level=EnforcementLevel.ADVISORY,
    description="brickwall guardrails: network, Private Link, Databricks workspace access and ingress invariants.",
)
