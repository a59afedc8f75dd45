"""The workspace's Enhanced Security and Compliance add-on: compliance security profile (with its compliance
standards), enhanced security monitoring and automatic cluster update, set on the Azure workspace itself.

On Azure these are workspace properties (ARM Microsoft.Databricks/workspaces `enhancedSecurityCompliance`, API
2026-01-01, which pulumi-azure-native 3.29.0's databricks.Workspace uses): the Databricks setting resources for
them say to use the Azure workspace resource instead (terraform-provider-databricks
docs/resources/compliance_security_profile_setting.md, enhanced_security_monitoring_setting.md).
Requirements (https://learn.microsoft.com/azure/databricks/security/privacy/enhanced-security-compliance): a
Premium workspace and an account with the add-on (charged per the pricing page); the compliance security profile
is permanent once on.
"""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from components.spec.base import StrictModel
from components.spec.errors import Problem, raise_problems

# pulumi-azure-native 3.29.0 databricks ComplianceStandard (the ARM schema types the list as free strings).
ComplianceStandard = Literal["NONE", "HIPAA", "PCI_DSS", "CYBER_ESSENTIAL_PLUS", "FEDRAMP_HIGH", "CANADA_PROTECTED_B",
                             "IRAP_PROTECTED", "ISMAP", "HITRUST", "K_FSI"]


class EnhancedSecuritySpec(StrictModel):
    """Class defaults are prod's: monitoring and automatic cluster update on (a prod floor), the profile off
    unless a compliance regime asks for it (it cannot be turned off again)."""

    # Hardened compute image, more monitoring and controls; PERMANENT once enabled: Azure never turns it off
    # (terraform-provider-azurerm forces a new workspace for true -> false).
    compliance_security_profile: bool = False
    compliance_standards: tuple[ComplianceStandard, ...] = ()
    # Hardened (CIS Level 1) image with antivirus and file-integrity monitoring agents on classic compute
    # (https://learn.microsoft.com/azure/databricks/security/privacy/enhanced-security-monitoring).
    enhanced_security_monitoring: bool = True
    # Clusters restart in a maintenance window to pick up image updates.
    automatic_cluster_update: bool = True

    @property
    def any_enabled(self) -> bool:
        return self.compliance_security_profile or self.enhanced_security_monitoring or self.automatic_cluster_update

    @model_validator(mode="after")
    def _profile(self) -> EnhancedSecuritySpec:
        problems = []
        if self.compliance_security_profile:
            # terraform-provider-azurerm (databricks_workspace_resource.go): "automatic_cluster_update_enabled and
            # enhanced_security_monitoring_enabled must be set to true when compliance_security_profile_enabled is true".
            problems += [Problem((field,), "the compliance security profile requires it on")
                         for field in ("enhanced_security_monitoring", "automatic_cluster_update") if not getattr(self, field)]
            if "NONE" in self.compliance_standards and len(self.compliance_standards) > 1:
                problems.append(Problem(("compliance_standards",), "NONE stands alone: it means the profile without a standard"))
        elif self.compliance_standards:
            problems.append(Problem(("compliance_standards",),
                                    "compliance standards need compliance_security_profile on (they are the profile's)"))
        if len(set(self.compliance_standards)) != len(self.compliance_standards):
            problems.append(Problem(("compliance_standards",), "lists a standard twice"))
        if problems:
            raise_problems(problems)
        return self
