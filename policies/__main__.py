"""The brickwall policy pack: `pulumi preview --policy-pack policies`. The rules live in brickwall_rules.

The CLI runs this file with the pack directory as the working directory and on sys.path (`python -m pulumi.policy
<engine address> .`); the repository root goes on sys.path too, for the dependency-free planning modules the rules
share with the program (`components.planning.tier_limits`, the Azure type catalog `components.planning.azure_types`).
"""

import sys
from pathlib import Path

sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

from brickwall_rules import ALL
from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack(
    "brickwall-guardrails",
    policies=ALL,
    enforcement_level=EnforcementLevel.ADVISORY,
    description="brickwall guardrails: network, Private Link, Databricks workspace access and ingress invariants.",
)
