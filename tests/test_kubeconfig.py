"""The Entra ID kubeconfig (components/planning/kubeconfig.py): what `kubelogin convert-kubeconfig -l <mode>` writes,
from the user kubeconfig AKS returns (Azure/kubelogin pkg/internal/converter/convert.go)."""

from __future__ import annotations

import pytest
import yaml

from brickwall.engine import aks_user_kubeconfig
from components.planning.kubeconfig import exec_kubeconfig

SERVER_ID = "6dae42f8-4368-4678-94ff-3960e28e3630"


@pytest.mark.parametrize("mode", ["azurecli", "workloadidentity"])
def test_the_aks_exec_user_signs_in_with_the_chosen_login(mode: str) -> None:
    source = yaml.safe_load(aks_user_kubeconfig("aks-x"))
    converted = yaml.safe_load(exec_kubeconfig(aks_user_kubeconfig("aks-x"), mode))  # type: ignore[arg-type]
    # Clusters and contexts are untouched; only the user changes.
    assert converted["clusters"] == source["clusters"] and converted["contexts"] == source["contexts"]
    (user,) = converted["users"]
    assert user["name"] == "clusterUser_aks-x"
    execution = user["user"]["exec"]
    assert execution["command"] == "kubelogin" and execution["apiVersion"] == "client.authentication.k8s.io/v1beta1"
    # The device-code client and tenant are dropped: azurecli takes the `az login` context, workloadidentity the
    # AZURE_* environment.
    assert execution["args"] == ["get-token", "--login", mode, "--server-id", SERVER_ID]


def test_a_legacy_azure_auth_provider_user_is_converted_and_loses_its_tokens() -> None:
    legacy = yaml.safe_dump({"apiVersion": "v1", "kind": "Config", "users": [
        {"name": "u", "user": {"auth-provider": {"name": "azure", "config": {
            "apiserver-id": SERVER_ID, "client-id": "80faf920-1908-4b52-b5ef-a8e7bedfc67a", "access-token": "eyJ..."}}}},
        {"name": "other", "user": {"token": "static"}},
    ]})
    users = {u["name"]: u["user"] for u in yaml.safe_load(exec_kubeconfig(legacy, "azurecli"))["users"]}
    assert set(users["u"]) == {"exec"} and users["u"]["exec"]["args"][-1] == SERVER_ID
    assert users["other"] == {"token": "static"}  # not an Entra ID user: left as kubelogin leaves it


def test_no_server_id_or_no_entra_user_or_an_unknown_mode_is_refused() -> None:
    no_server = yaml.safe_dump({"users": [{"name": "u", "user": {"exec": {"command": "kubelogin", "args": ["get-token"]}}}]})
    with pytest.raises(ValueError, match="no --server-id"):
        exec_kubeconfig(no_server, "azurecli")
    with pytest.raises(ValueError, match="no Entra ID"):
        exec_kubeconfig(yaml.safe_dump({"users": [{"name": "u", "user": {"token": "t"}}]}), "azurecli")
    with pytest.raises(ValueError, match="login mode"):
        exec_kubeconfig(aks_user_kubeconfig("aks-x"), "devicecode")  # type: ignore[arg-type]
