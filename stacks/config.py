"""The stack-config secrets a spec needs, read once at the entry point as Pulumi secrets."""

from __future__ import annotations

import pulumi

from components.ingress import IngressSecrets
from components.planning.kubeconfig import LOGIN_MODES, LoginMode
from components.planning.oauth2_proxy import cookie_secret_problem
from components.spec import EnvironmentSpec
from components.spec.base import is_guid

KUBECONFIG = "kubeconfig"
OAUTH2_CLIENT_SECRET = "oauth2ClientSecret"
OAUTH2_COOKIE_SECRET = "oauth2CookieSecret"
# How `pulumi up` signs in to the AKS API server through kubelogin: `azurecli` (the `az login` context, a laptop or CI
# after azure/login) or `workloadidentity` (CI with AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE).
KUBELOGIN_MODE = "kubeloginMode"
# Keys that hold credentials: a plain-text value in a stack file is warned about (`pulumi config set --secret`).
SECRET_KEYS = ("databricksClientSecret", KUBECONFIG, OAUTH2_CLIENT_SECRET, OAUTH2_COOKIE_SECRET)
# The Databricks account id (account console, top right): the account provider's `account_id`. Not a secret.
DATABRICKS_ACCOUNT_ID = "databricksAccountId"


def kubelogin_mode(config: pulumi.Config) -> LoginMode:
    """`azurecli` unless the stack config says `workloadidentity` (components/planning/workload_identity.py)."""
    mode = config.get(KUBELOGIN_MODE) or "azurecli"
    if mode not in LOGIN_MODES:
        raise pulumi.RunError(f"{KUBELOGIN_MODE} is {mode!r}: one of {', '.join(LOGIN_MODES)}")
    return mode  # type: ignore[return-value]


def required_secret_keys(spec: EnvironmentSpec) -> list[str]:
    """Config keys (without the project prefix) that must hold secrets for this spec."""
    parts = spec.plan.parts
    if not parts.ingress:
        return []
    # An existing cluster is reached through its kubeconfig; the one the toolkit creates gives its own.
    keys = [] if parts.aks else [KUBECONFIG]
    if spec.ingress.oauth2_proxy is not None:
        keys += [OAUTH2_CLIENT_SECRET, OAUTH2_COOKIE_SECRET]
    # Connectors hold no secret: they sign in with AKS workload identity (components/planning/workload_identity.py).
    return keys


def required_plain_keys(spec: EnvironmentSpec) -> list[str]:
    # Every workspace belongs to an account; its groups are account groups assigned to the workspace.
    return [DATABRICKS_ACCOUNT_ID]


def missing_keys(spec: EnvironmentSpec, config: pulumi.Config) -> list[str]:
    return [k for k in (*required_secret_keys(spec), *required_plain_keys(spec)) if config.get(k) is None]


def value_problems(spec: EnvironmentSpec, config: pulumi.Config) -> list[str]:
    """Config values that are set but would not work, each naming its key (never its value)."""
    problems = []
    account = config.get(DATABRICKS_ACCOUNT_ID)
    if account is not None and not is_guid(account):
        problems.append(f"{DATABRICKS_ACCOUNT_ID}: {account!r} is not a Databricks account id (a GUID, from the account console)")
    cookie = config.get(OAUTH2_COOKIE_SECRET) if spec.plan.parts.ingress and spec.ingress.oauth2_proxy else None
    if cookie is not None and (problem := cookie_secret_problem(cookie)):
        problems.append(f"{OAUTH2_COOKIE_SECRET}: {problem}")
    return problems


def ingress_secrets(spec: EnvironmentSpec, config: pulumi.Config) -> IngressSecrets:
    return IngressSecrets(
        oauth2_client_secret=config.get_secret(OAUTH2_CLIENT_SECRET),
        oauth2_cookie_secret=config.get_secret(OAUTH2_COOKIE_SECRET),
    )
