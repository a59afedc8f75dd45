"""The Entra ID kubeconfig the program drives an AKS cluster with: the user kubeconfig AKS returns, its users turned
into kubelogin exec users. Pure, no Pulumi."""

from __future__ import annotations

from typing import Any, Literal

import yaml

LoginMode = Literal["azurecli", "workloadidentity"]
LOGIN_MODES: tuple[LoginMode, ...] = ("azurecli", "workloadidentity")
# kubelogin's own constants (Azure/kubelogin pkg/internal/converter/convert.go): the exec plugin it writes.
_EXEC_API = "client.authentication.k8s.io/v1beta1"
_INSTALL_HINT = ("\nkubelogin is not installed which is required to connect to AAD enabled cluster.\n\n"
                 "To learn more, please go to https://azure.github.io/kubelogin/\n")


def _arg(args: list[Any], flag: str) -> str | None:
    for i, a in enumerate(args):
        if a == flag and i + 1 < len(args):
            return str(args[i + 1])
    return None


def exec_kubeconfig(kubeconfig: str, login: LoginMode) -> str:
    """The user kubeconfig of an Entra ID cluster (listManagedClusterUserCredentials) turned into one whose users
    sign in through the kubelogin exec plugin with `login`, as `kubelogin convert-kubeconfig -l <login>` does
    (Azure/kubelogin pkg/internal/converter/convert.go): `kubelogin get-token --login <login> --server-id <id>`,
    where the server id (the AKS Entra server application) comes from the user's exec args (`--server-id`) or its
    legacy `azure` auth-provider config (`apiserver-id`). azurecli takes the `az login` context (a laptop, or CI
    after `azure/login`); workloadidentity reads AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_FEDERATED_TOKEN_FILE
    from the environment (CI with a federated credential). No token, certificate or client secret is written.
    Raises ValueError when a user names no server id or the kubeconfig has no Entra ID user at all."""
    if login not in LOGIN_MODES:
        raise ValueError(f"kubelogin login mode {login!r}: one of {', '.join(LOGIN_MODES)}")
    config = yaml.safe_load(kubeconfig)
    if not isinstance(config, dict):
        raise ValueError("not a kubeconfig: expected a YAML mapping")
    converted = 0
    for entry in config.get("users") or []:
        user = entry.get("user") or {}
        execution, provider = user.get("exec"), user.get("auth-provider")
        if isinstance(execution, dict) and "kubelogin" in str(execution.get("command", "")).lower():
            server_id = _arg(list(execution.get("args") or []), "--server-id")
            hint = execution.get("installHint") or _INSTALL_HINT
        elif isinstance(provider, dict) and provider.get("name") == "azure":
            server_id = (provider.get("config") or {}).get("apiserver-id")
            hint = _INSTALL_HINT
        else:
            continue
        if not server_id:
            raise ValueError(f"user {entry.get('name')!r}: no --server-id (the AKS Entra server application) to convert")
        user.pop("auth-provider", None)
        for credential in ("token", "tokenFile", "client-certificate-data", "client-key-data", "username", "password"):
            user.pop(credential, None)
        user["exec"] = {"apiVersion": _EXEC_API, "command": "kubelogin",
                        "args": ["get-token", "--login", login, "--server-id", server_id],
                        "installHint": hint, "provideClusterInfo": False}
        entry["user"] = user
        converted += 1
    if converted == 0:
        raise ValueError("no Entra ID (kubelogin or azure auth-provider) user in the kubeconfig")
    return yaml.safe_dump(config, sort_keys=False)
