"""The Enhanced Security and Compliance add-on as spec fields (workspace.enhanced_security), set on the Azure
workspace: tier defaults and prod floors, the profile's needs, and bad input reported at its field path."""

from __future__ import annotations

from pathlib import Path

import pytest

import stacks
from brickwall.engine import Recording
from components.spec import EnvironmentSpec
from components.spec.rules import advisories
from tests.spec_cases import Case, base, case_params, check_file_loader, check_program_registers_nothing, check_reported, mutate

ES = "workspace.enhanced_security"
WORKSPACE = "azure-native:databricks:Workspace"

CASES: list[Case] = [
    Case("profile-without-monitoring-and-updates", "prod",
         {f"{ES}.compliance_security_profile": True, f"{ES}.enhanced_security_monitoring": False,
          f"{ES}.automatic_cluster_update": False},
         ((f"{ES}.enhanced_security_monitoring", "the compliance security profile requires it on"),
          (f"{ES}.automatic_cluster_update", "the compliance security profile requires it on")), program=True),
    # Below prod the add-on is off by default, so turning the profile on alone asks for its two companions.
    Case("dev-profile-alone", "dev", {f"{ES}.compliance_security_profile": True},
         ((f"{ES}.enhanced_security_monitoring", "requires it on"), (f"{ES}.automatic_cluster_update", "requires it on"))),
    Case("standards-without-profile", "dev", {f"{ES}.compliance_standards": ["HIPAA"]},
         ((f"{ES}.compliance_standards", "need compliance_security_profile on"),)),
    Case("unknown-standard", "prod", {f"{ES}.compliance_security_profile": True, f"{ES}.compliance_standards": ["HIPAA", "SOC2"]},
         ((f"{ES}.compliance_standards.1", "'NONE', 'HIPAA', 'PCI_DSS'"),)),
    Case("none-beside-a-standard", "prod", {f"{ES}.compliance_security_profile": True, f"{ES}.compliance_standards": ["NONE", "HIPAA"]},
         ((f"{ES}.compliance_standards", "NONE stands alone"),)),
    Case("prod-without-monitoring", "prod", {f"{ES}.enhanced_security_monitoring": False, f"{ES}.automatic_cluster_update": False},
         ((f"{ES}.enhanced_security_monitoring", "prod runs classic compute on the hardened, monitored image"),
          (f"{ES}.automatic_cluster_update", "prod keeps long-running clusters patched")), fmt="json"),
    Case("min-prod-without-monitoring", "min-prod", {f"{ES}.enhanced_security_monitoring": False},
         ((f"{ES}.enhanced_security_monitoring", "enhanced security monitoring"),)),
]
PROGRAM_CASES = [c for c in CASES if c.program]


@pytest.mark.parametrize("case", case_params(CASES))
def test_bad_enhanced_security_is_reported_at_its_path(case: Case) -> None:
    check_reported(case)


@pytest.mark.parametrize("case", case_params(CASES))
def test_bad_enhanced_security_is_rejected_by_the_file_loader(case: Case, tmp_path: Path) -> None:
    check_file_loader(case, tmp_path)


@pytest.mark.parametrize("case", case_params(PROGRAM_CASES))
def test_program_registers_nothing_for_bad_enhanced_security(case: Case, tmp_path: Path) -> None:
    check_program_registers_nothing(case, tmp_path, "dev")


def test_tier_defaults_and_the_recorded_workspace(dev: Recording, staging: Recording, prod: Recording) -> None:
    for name, rec in (("dev", dev), ("staging", staging), ("prod", prod)):
        es = stacks.load(name).workspace.enhanced_security
        ws = next(r for r in rec.of_type(WORKSPACE) if r.inputs.get("computeMode") == "Hybrid")
        if name in ("staging", "prod"):
            assert es.enhanced_security_monitoring and es.automatic_cluster_update and not es.compliance_security_profile
            assert ws.inputs["enhancedSecurityCompliance"] == {
                "complianceSecurityProfile": {"value": "Disabled"},
                "enhancedSecurityMonitoring": {"value": "Enabled"},
                "automaticClusterUpdate": {"value": "Enabled"},
            }
        else:
            # dev leaves the paid add-on off unless its spec turns it on; the workspace then does not name it.
            assert not es.any_enabled
            assert "enhancedSecurityCompliance" not in ws.inputs


def test_a_compliance_profile_with_standards_reaches_the_workspace_and_says_what_it_needs() -> None:
    data = mutate(base("prod"), {f"{ES}.compliance_security_profile": True, f"{ES}.compliance_standards": ["HIPAA", "PCI_DSS"]})
    spec = EnvironmentSpec.model_validate(data)
    from components.workspace import enhanced_security_compliance

    args = enhanced_security_compliance(spec.workspace.enhanced_security)
    assert args is not None
    assert args.compliance_security_profile.value == "Enabled"
    assert list(args.compliance_security_profile.compliance_standards) == ["HIPAA", "PCI_DSS"]
    notes = advisories(spec)
    assert any("permanent once deployed" in n and "2443" in n for n in notes)
    assert any("PCI_DSS" in n and "no serverless compute" in n for n in notes)
    assert enhanced_security_compliance(EnvironmentSpec.model_validate(base("min-dev")).workspace.enhanced_security) is None
