"""The stack-config secrets a spec needs, read once at the entry point as Pulumi secrets."""

from __future__ import annotations

import pulumi

from components.ingress import IngressSecrets
from components.spec import EnvironmentSpec

KUBECONFIG = "kubeconfig"
OAUTH2_CLIENT_SECRET = "oauth2ClientSecret"
OAUTH2_COOKIE_SECRET = "oauth2CookieSecret"


def connector_credential_key(name: str) -> str:
    return f"connector-{name}-credential"


def connector_client_id_key(name: str) -> str:
    return f"connector-{name}-client-id"


def required_secret_keys(spec: EnvironmentSpec) -> list[str]:
    """Config keys (without the project prefix) that must hold secrets for this spec."""
    ingress = spec.ingress
    if not ingress.enabled:
        return []
    keys = [KUBECONFIG] if ingress.cluster == "existing" else []
    if ingress.oauth2_proxy is not None:
        keys += [OAUTH2_CLIENT_SECRET, OAUTH2_COOKIE_SECRET]
    keys += [connector_credential_key(c.name) for c in ingress.connectors]
    return keys


def required_plain_keys(spec: EnvironmentSpec) -> list[str]:
    ingress = spec.ingress
    if not ingress.enabled:
        return []
    return [connector_client_id_key(c.name) for c in ingress.connectors if c.databricks_auth == "service_principal"]


def missing_keys(spec: EnvironmentSpec, config: pulumi.Config) -> list[str]:
    return [k for k in (*required_secret_keys(spec), *required_plain_keys(spec)) if config.get(k) is None]


def ingress_secrets(spec: EnvironmentSpec, config: pulumi.Config) -> IngressSecrets:
    connectors = spec.ingress.connectors
    return IngressSecrets(
        oauth2_client_secret=config.get_secret(OAUTH2_CLIENT_SECRET),
        oauth2_cookie_secret=config.get_secret(OAUTH2_COOKIE_SECRET),
        connector_credentials={c.name: config.require_secret(connector_credential_key(c.name)) for c in connectors},
        connector_client_ids={c.name: config.require(connector_client_id_key(c.name))
                              for c in connectors if c.databricks_auth == "service_principal"},
    )
