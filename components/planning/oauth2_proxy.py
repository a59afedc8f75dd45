"""oauth2-proxy's command line for the ingress tier, built from the spec. Pure, no Pulumi.

The flags and the rules they must satisfy are those of the pinned release (OAuth2ProxySpec.image, v7.12.0), read at
its tag in oauth2-proxy/oauth2-proxy; tests/oauth2_proxy_rules.py ports its start-up validation and bearer-token
verification and runs them against what this module renders.

Two instances, because v7.12.0 reads authorisation from one claim per provider (`--oidc-groups-claim`,
pkg/apis/options/legacy_options.go:587) and offers app roles only to the keycloak-oidc provider (`--allowed-role`,
legacy_options.go:612):
- `oauth2-proxy` signs browser users in through Entra ID and admits them by group; with `--skip-jwt-bearer-tokens` it
  also admits users' bearer tokens for the API (`--extra-jwt-issuers`, audience the API's application id), by group.
- `oauth2-proxy-apps` (only with `app` routes) admits app-only bearer tokens (client credentials: a `roles` claim and
  no `groups`) by app role: its provider's client id is the API's application id and its groups claim is `roles`.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from typing import Literal, Protocol


class OAuth2ProxySpec(Protocol):
    """oauth2-proxy's settings (components/spec/ingress.py OAuth2ProxySpec has them): the planner never imports the spec."""

    @property
    def issuer_url(self) -> str: ...
    @property
    def client_id(self) -> str: ...
    @property
    def allowed_groups(self) -> tuple[str, ...]: ...
    @property
    def email_domains(self) -> tuple[str, ...]: ...
    @property
    def jwt_issuers(self) -> tuple[tuple[str, str], ...]: ...
    @property
    def api_client_id(self) -> str | None: ...
    @property
    def app_roles(self) -> tuple[str, ...]: ...

SECRET_DIR = "/etc/oauth2-proxy"
PROXY_PREFIX = "/oauth2"  # the default --proxy-prefix (pkg/apis/options/options.go:144)
BROWSER, APPS = "oauth2-proxy", "oauth2-proxy-apps"

Instance = Literal["browser", "apps"]

# The cookie cipher is AES: the secret must give 16, 24 or 32 bytes (pkg/validation/cookie.go:53-88).
AES_KEY_LENGTHS = (16, 24, 32)


def cookie_secret_bytes(secret: str) -> bytes:
    """The key oauth2-proxy makes of a cookie secret (pkg/encryption/utils.go:24-39, SecretBytes): the secret
    base64url-decoded (no padding) when that gives an AES key length, else its raw bytes."""
    trimmed = secret.rstrip("=")
    if re.fullmatch(r"[A-Za-z0-9_-]*", trimmed) and len(trimmed) % 4 != 1:
        decoded = base64.urlsafe_b64decode(trimmed + "=" * (-len(trimmed) % 4))
        if len(decoded) in AES_KEY_LENGTHS:
            return decoded
    return secret.encode()


def cookie_secret_problem(secret: str) -> str | None:
    """Why oauth2-proxy would refuse to start with this cookie secret, or None (the secret itself is never quoted)."""
    length = len(cookie_secret_bytes(secret))
    if length in AES_KEY_LENGTHS:
        return None
    return (f"gives a {length}-byte key; oauth2-proxy starts only with 16, 24 or 32 bytes (raw, or base64url of them): "
            "e.g. `openssl rand -base64 32 | tr -- '+/' '-_'`")


def proxy_args(o: OAuth2ProxySpec, instance: Instance, *, port: int, hosts: Sequence[str] = ()) -> list[str]:
    """The container args of one instance. `hosts`: the hosts of the routes the browser instance signs users in on."""
    common = [
        "--provider=oidc", f"--oidc-issuer-url={o.issuer_url}",
        # Required even where never used (pkg/validation/providers.go:78-91, cookie.go:53-88): mounted from the Secret.
        f"--client-secret-file={SECRET_DIR}/client-secret", f"--cookie-secret-file={SECRET_DIR}/cookie-secret",
        f"--http-address=0.0.0.0:{port}",
        # Traefik's forwardAuth sends the original request as X-Forwarded-Method/Proto/Host/Uri
        # (https://doc.traefik.io/traefik/v3.3/reference/routing-configuration/http/middlewares/forwardauth/); oauth2-proxy
        # reads them only in reverse-proxy mode (docs/docs/configuration/integration.md, "Traefik ... requires --reverse-proxy").
        "--reverse-proxy=true", "--set-xauthrequest=true",
        "--cookie-secure=true", "--cookie-httponly=true", "--cookie-samesite=lax",
        # A 202 for an authorised request, so forwardAuth pointed at `/` passes it on (integration.md, "ForwardAuth with
        # static upstreams configuration").
        "--upstream=static://202", "--silence-ping-logging=true",
    ]
    if instance == "apps":
        assert o.api_client_id is not None
        return [
            *common, f"--client-id={o.api_client_id}",
            # Bearer sessions: the provider's verifier checks `aud` against the client id (pkg/providers/oidc/verifier.go)
            # and takes the session's groups from this claim (providers/provider_data.go:255-263).
            "--skip-jwt-bearer-tokens=true", "--oidc-groups-claim=roles", "--skip-claims-from-profile-url=true",
            # App-only tokens carry no email: the session's email is `sub` (providers/oidc.go:210-213), which only `*`
            # validates (validator.go:80-101). Authorisation is the app role below.
            "--email-domain=*",
            *(f"--allowed-group={r}" for r in o.app_roles),
        ]
    args = [
        *common, f"--client-id={o.client_id}",
        # The callback on the host the user asked for: a redirect URL without a host takes the request's host and,
        # with secure cookies, https (oauthproxy.go getOAuthRedirectURI); `/oauth2/` is routed on every such host.
        f"--redirect-url={PROXY_PREFIX}/callback",
        # Straight to Entra ID, no oauth2-proxy sign-in page (oauthproxy.go Proxy: ErrNeedsLogin -> doOAuthStart).
        "--skip-provider-button=true",
        *(f"--whitelist-domain={h}" for h in hosts),
        *(f"--allowed-group={g}" for g in o.allowed_groups),
        # An email validation setting is required to start (pkg/validation/options.go:49-52). Without named domains,
        # authorisation is by group (OAuth2ProxySpec requires allowed_groups then) and every verified account of the
        # single-tenant issuer passes the email check.
        *(f"--email-domain={d}" for d in (o.email_domains or ("*",))),
    ]
    if o.jwt_issuers:
        args += ["--skip-jwt-bearer-tokens=true", *(f"--extra-jwt-issuers={i}={a}" for i, a in o.jwt_issuers)]
    return args
