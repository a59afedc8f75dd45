"""oauth2-proxy as prod renders it: it starts (the pinned release's own checks, ported in tests/oauth2_proxy_rules.py),
browser users are sent to Entra ID and come back on the same host, and Entra ID bearer tokens are judged as the
rendered flags tell oauth2-proxy to judge them: tokens this test signs with its own RSA key, against a local JWKS."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

import stacks
from brickwall.engine import Recording, Secret
from components.ingress import AUTH_MIDDLEWARE
from components.planning.ingress import OAUTH2_PROXY, OAUTH2_PROXY_PORT, network_policies
from components.planning.oauth2_proxy import proxy_args
from components.spec.ingress import OAuth2ProxySpec
from tests.oauth2_proxy_rules import PINNED, Proxy, RsaKey, fetch_jwks, parse_args, serve_jwks, validate

K = "kubernetes:"
DEPLOY, SECRET = K + "apps/v1:Deployment", K + "core/v1:Secret"
ROUTE, MIDDLEWARE = K + "traefik.io/v1alpha1:IngressRoute", K + "traefik.io/v1alpha1:Middleware"
TENANT = "5b3c2d1e-0f9a-4b8c-9d7e-6f5a4b3c2d10"
ISSUER = f"https://login.microsoftonline.com/{TENANT}/v2.0"
# `openssl rand -base64 32 | tr -- '+/' '-_'`: 32 random bytes, base64url (pkg/encryption/utils.go SecretBytes).
COOKIE_SECRET = base64.urlsafe_b64encode(bytes(range(32))).decode()


def _named(rec: Recording, type_: str) -> dict[str, Any]:
    return {r.inputs["metadata"]["name"]: r.inputs for r in rec.of_type(type_)}


def _specs(rec: Recording, type_: str) -> dict[str, Any]:
    return {name: inputs["spec"] for name, inputs in _named(rec, type_).items()}


def _container_files(rec: Recording, deployment: dict[str, Any], overrides: dict[str, str]) -> dict[str, str]:
    """The files the container sees: each mounted Secret's keys under its mount path (values from stack config,
    placeholders offline, `overrides` by key)."""
    pod = deployment["spec"]["template"]["spec"]
    secrets = _named(rec, SECRET)
    volumes = {v["name"]: v["secret"]["secretName"] for v in pod["volumes"]}
    files = {}
    for mount in pod["containers"][0]["volumeMounts"]:
        data = secrets[volumes[mount["name"]]]["stringData"]
        data = data.value if isinstance(data, Secret) else data
        for key, value in data.items():
            files[f"{mount['mountPath']}/{key}"] = overrides.get(key, value)
    return files


def _args(rec: Recording, name: str) -> list[str]:
    args: list[str] = _named(rec, DEPLOY)[name]["spec"]["template"]["spec"]["containers"][0]["args"]
    return args


def test_the_pinned_release_is_the_one_whose_rules_are_ported() -> None:
    assert stacks.load("prod").ingress.oauth2_proxy.image.endswith(f":{PINNED}")  # type: ignore[union-attr]


@pytest.mark.parametrize("name", ["oauth2-proxy", "oauth2-proxy-apps"])
def test_each_instance_starts(prod: Recording, name: str) -> None:
    deployment = _named(prod, DEPLOY)[name]
    values, errors = parse_args(_args(prod, name))
    assert errors == []
    assert validate(values, _container_files(prod, deployment, {"cookie-secret": COOKIE_SECRET})) == []
    # The same configuration with a cookie secret of the wrong length, or without its email setting, would not start:
    # the ported checks are live.
    bad = validate(values, _container_files(prod, deployment, {"cookie-secret": "offline-placeholder-secret"}))
    assert bad == ["cookie_secret from file must be 16, 24, or 32 bytes to create an AES cipher"]
    without_email = parse_args([a for a in _args(prod, name) if not a.startswith("--email-domain=")])[0]
    assert any(m.startswith("missing setting for email validation")
               for m in validate(without_email, _container_files(prod, deployment, {"cookie-secret": COOKIE_SECRET})))


GROUP, ROLE, API = "3f2b8c1e-6d4a-4e8f-9a1b-2c3d4e5f6a70", "Jobs.Submit", "2c1d0e9f-8a7b-4c6d-9e5f-1a2b3c4d5e6f"
VARIANTS: dict[str, dict[str, Any]] = {
    "groups-only": {"allowed_groups": (GROUP,)},
    "email-domains-only": {"email_domains": ("contoso.com", "fabrikam.com")},
    "groups-and-bearer-users": {"allowed_groups": (GROUP,), "jwt_issuers": ((ISSUER, API),), "api_client_id": API},
    "app-roles": {"allowed_groups": (GROUP,), "api_client_id": API, "app_roles": (ROLE, "Jobs.Read")},
    "v1-issuer-app-id-uri": {"allowed_groups": (GROUP,), "jwt_issuers": ((f"https://sts.windows.net/{TENANT}/", f"api://{API}"),)},
    "other-issuer": {"allowed_groups": (GROUP,), "jwt_issuers": (("https://token.actions.githubusercontent.com", "brickwall"),)},
}


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_valid_spec_renders_a_configuration_that_starts(variant: str) -> None:
    spec = OAuth2ProxySpec.model_validate({"issuer_url": ISSUER, "client_id": "7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c20",
                                           **VARIANTS[variant]})
    instances = ["browser", *(["apps"] if spec.app_roles else [])]
    for instance in instances:
        args = proxy_args(spec, instance, port=OAUTH2_PROXY_PORT, hosts=("sql.data.contoso.com",))  # type: ignore[arg-type]
        values, errors = parse_args(args)
        assert errors == []
        files = {"/etc/oauth2-proxy/client-secret": "s3cret", "/etc/oauth2-proxy/cookie-secret": COOKIE_SECRET}
        assert validate(values, files) == [], (variant, instance)
        # Every comma-free value reaches oauth2-proxy as exactly one list element.
        assert values.get("allowed-group", []) == list(spec.allowed_groups if instance == "browser" else spec.app_roles)


# --- the browser: sent to Entra ID, back on the same host ------------------------------------------------------------


def test_browser_routes_redirect_to_sign_in_and_route_the_callback_on_their_host(prod: Recording) -> None:
    spec = stacks.load("prod").ingress
    routes, middlewares = _specs(prod, ROUTE), _specs(prod, MIDDLEWARE)
    values, _ = parse_args(_args(prod, "oauth2-proxy"))
    # forwardAuth to oauth2-proxy's `/`: signed in -> the static 202; not -> its redirect to Entra ID, which Traefik
    # returns to the browser (oauth2-proxy docs/docs/configuration/integration.md, "static upstreams").
    sign_in = middlewares["oauth2-sign-in"]["forwardAuth"]
    assert sign_in["address"] == f"http://oauth2-proxy.{spec.namespace}.svc.cluster.local:{OAUTH2_PROXY_PORT}/"
    assert values["upstream"] == ["static://202"] and values["reverse-proxy"] is True
    assert values["skip-provider-button"] is True  # no intermediate page: straight to Entra ID
    assert values["redirect-url"] == "/oauth2/callback"  # host and https from the request (getOAuthRedirectURI)
    assert values["oidc-issuer-url"] == ISSUER and values["provider"] == "oidc"
    browser = [r for r in spec.routes if r.auth == "oauth2"]
    assert browser and set(values["whitelist-domain"]) == {r.host for r in browser}
    for route in browser:
        rule = routes[route.name]["routes"][0]
        assert rule["middlewares"][-1] == {"name": "oauth2-sign-in", "namespace": spec.namespace}
        # `/oauth2/` (start, callback, sign-out) goes to oauth2-proxy itself on the same host, the same certificate and
        # allowlist, ahead of the host's own routes.
        callback = routes[f"{route.name}-oauth2"]
        (cb,) = callback["routes"]
        assert cb["match"] == f"Host(`{route.host}`) && PathPrefix(`/oauth2/`) && (Method(`GET`) || Method(`POST`))"
        assert cb["services"] == [{"name": "oauth2-proxy", "namespace": spec.namespace, "port": OAUTH2_PROXY_PORT, "scheme": "http"}]
        assert cb["priority"] > len(rule["match"]) and "oauth2-sign-in" not in str(cb["middlewares"])
        assert {"name": f"{route.name}-oauth2-allowlist", "namespace": spec.namespace} in cb["middlewares"]
        host_cidrs = {c for r in spec.routes if r.host == route.host for c in r.allow_cidrs}
        assert set(middlewares[f"{route.name}-oauth2-allowlist"]["ipAllowList"]["sourceRange"]) == host_cidrs
        assert callback["tls"]["secretName"] == f"{route.name}-tls"
    # Traefik may reach both instances: the NetworkPolicy selects them by the label they share.
    policies = {p.name: p.spec for p in network_policies(stacks.load("prod").plan.tier) if p.namespace == spec.namespace}
    for name in ("oauth2-proxy", "oauth2-proxy-apps"):
        labels = _named(prod, DEPLOY)[name]["spec"]["template"]["metadata"]["labels"]
        assert OAUTH2_PROXY.items() <= labels.items()
        assert policies["oauth2-proxy"]["podSelector"]["matchLabels"].items() <= labels.items()


def test_bearer_routes_ask_the_auth_endpoint_which_never_redirects(prod: Recording) -> None:
    spec = stacks.load("prod").ingress
    middlewares = _specs(prod, MIDDLEWARE)
    base = f".{spec.namespace}.svc.cluster.local:{OAUTH2_PROXY_PORT}/oauth2/auth"
    assert middlewares["oauth2-bearer"]["forwardAuth"]["address"] == f"http://oauth2-proxy{base}"
    assert middlewares["oauth2-app"]["forwardAuth"]["address"] == f"http://oauth2-proxy-apps{base}"
    assert AUTH_MIDDLEWARE == {"oauth2": "oauth2-sign-in", "jwt": "oauth2-bearer", "app": "oauth2-app"}
    jobs = _specs(prod, ROUTE)["jobs"]["routes"][0]
    assert jobs["middlewares"][-1]["name"] == "oauth2-app"


# --- bearer tokens from Entra ID ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def entra() -> Iterator[tuple[RsaKey, RsaKey, Callable[[str], Callable[[], list[dict[str, str]]]]]]:
    key, stranger = RsaKey.generate("entra-key-1"), RsaKey.generate("entra-key-1")
    url, stop = serve_jwks([key])

    def jwks_for(issuer: str) -> Callable[[], list[dict[str, str]]]:
        assert issuer == ISSUER, issuer  # the only issuer the rendered flags name
        return fetch_jwks(url)

    yield key, stranger, jwks_for
    stop()


def _token(key: RsaKey, now: float, **claims: Any) -> str:
    """An Entra ID v2.0 access token for the connectors API (access-token-claims-reference.md)."""
    base = {"iss": ISSUER, "aud": API, "iat": int(now) - 60, "nbf": int(now) - 60, "exp": int(now) + 3600, "ver": "2.0",
            "tid": TENANT, "sub": "Jf3kX0pQ-pairwise-subject", "oid": "0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e",
            "azp": "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b"}
    return key.sign({**base, **claims})


def test_entra_tokens_are_judged_as_the_rendered_flags_say(prod: Recording, entra: Any) -> None:
    key, stranger, jwks_for = entra
    users = Proxy(parse_args(_args(prod, "oauth2-proxy"))[0], jwks_for)  # "jwt" routes: users' tokens, by group
    apps = Proxy(parse_args(_args(prod, "oauth2-proxy-apps"))[0], jwks_for)  # "app" routes: app-only tokens, by role
    now = time.time()
    user = _token(key, now, groups=[GROUP], scp="Jobs.ReadWrite", name="Ada")
    app = _token(key, now, roles=[ROLE], idtyp="app")
    assert users.auth(user, now) == 202
    assert apps.auth(app, now) == 202
    # Authorisation: an app-only token has no groups; a user without the group or an app without the role is refused.
    assert users.auth(app, now) == 401
    assert users.auth(_token(key, now, groups=["11111111-2222-4333-8444-555555555555"]), now) == 401
    assert apps.auth(_token(key, now, roles=["Jobs.Read"]), now) == 401
    assert apps.auth(user, now) == 401
    # Verification: the wrong audience (a v1-style App ID URI, or another API), an expired token, another issuer and a
    # key outside the issuer's JWKS are refused by both.
    for bad in (_token(key, now, groups=[GROUP], roles=[ROLE], aud=f"api://{API}"),
                _token(key, now, groups=[GROUP], roles=[ROLE], aud="00000003-0000-0000-c000-000000000000"),
                _token(key, now - 7200, groups=[GROUP], roles=[ROLE], exp=int(now) - 1),
                _token(key, now, groups=[GROUP], roles=[ROLE], iss=f"https://sts.windows.net/{TENANT}/"),
                _token(stranger, now, groups=[GROUP], roles=[ROLE])):
        assert users.auth(bad, now) == 401 and apps.auth(bad, now) == 401
    # A token that is not yet valid is accepted within go-oidc's five minutes' leeway, not beyond.
    assert users.auth(_token(key, now, groups=[GROUP], nbf=int(now) + 200), now) == 202
    assert users.auth(_token(key, now, groups=[GROUP], nbf=int(now) + 400), now) == 401


_GUIDS = st.uuids().map(str)
_WORDS = st.sampled_from(["contoso.com", "Data Engineers", "a,b", "", "*", "Jobs.Submit", "api://x", "platform", "x=y", 'q"t'])
_ISSUERS = st.sampled_from([ISSUER, f"https://sts.windows.net/{TENANT}/", "https://login.microsoftonline.com/common/v2.0",
                            "https://token.actions.githubusercontent.com", "https://idp.contoso.com/realms/a=b"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(issuer=_ISSUERS, client_id=st.one_of(_GUIDS, _WORDS), groups=st.lists(st.one_of(_GUIDS, _WORDS), max_size=3),
       domains=st.lists(_WORDS, max_size=2), api=st.one_of(st.none(), _GUIDS, _WORDS),
       pairs=st.lists(st.tuples(_ISSUERS, st.one_of(_GUIDS, _WORDS, st.just(f"api://{API}"), st.just(API))), max_size=2),
       roles=st.lists(_WORDS, max_size=2))
def test_any_spec_the_model_accepts_renders_a_configuration_that_starts(
        issuer: str, client_id: str, groups: list[str], domains: list[str], api: str | None,
        pairs: list[tuple[str, str]], roles: list[str]) -> None:
    """For every OAuth2ProxySpec that validates, each instance it renders passes v7.12.0's flag parsing and start-up
    checks; the model refuses the rest (with their field paths, tests/test_invalid_ingress.py)."""
    try:
        spec = OAuth2ProxySpec.model_validate({"issuer_url": issuer, "client_id": client_id, "allowed_groups": groups,
                                               "email_domains": domains, "api_client_id": api, "jwt_issuers": pairs,
                                               "app_roles": roles})
    except ValidationError:
        return
    instances = ["browser", *(["apps"] if spec.api_client_id and spec.app_roles else [])]
    files = {"/etc/oauth2-proxy/client-secret": "s3cret", "/etc/oauth2-proxy/cookie-secret": COOKIE_SECRET}
    for instance in instances:
        values, errors = parse_args(proxy_args(spec, instance, port=OAUTH2_PROXY_PORT, hosts=("a.contoso.com",)))  # type: ignore[arg-type]
        assert errors == [] and validate(values, files) == []
        assert len(values.get("extra-jwt-issuers", [])) == (len(spec.jwt_issuers) if instance == "browser" else 0)


@given(st.one_of(st.text(max_size=48), st.binary(min_size=0, max_size=40).map(lambda b: base64.urlsafe_b64encode(b).decode()),
                 st.binary(min_size=0, max_size=40).map(lambda b: base64.urlsafe_b64encode(b).decode().rstrip("="))))
def test_the_programs_cookie_secret_check_agrees_with_the_ported_release(secret: str) -> None:
    """The program refuses exactly the cookie secrets v7.12.0 refuses (SecretBytes and the AES key lengths)."""
    from components.planning.oauth2_proxy import cookie_secret_problem
    from tests.oauth2_proxy_rules import secret_bytes

    assert (cookie_secret_problem(secret) is None) == (len(secret_bytes(secret)) in (16, 24, 32))


def test_a_cookie_secret_that_would_not_start_stops_the_program_before_any_resource(prod: Recording) -> None:
    from brickwall import project
    from brickwall.engine import ProgramError
    from components.planning.oauth2_proxy import cookie_secret_problem

    short = "s3cr3t-but-too-short"
    with pytest.raises(ProgramError) as caught:
        project.run("prod", extra_config={"brickwall:oauth2CookieSecret": short}, extra_secret_keys=["brickwall:oauth2CookieSecret"])
    message = str(caught.value)
    assert "oauth2CookieSecret: gives a 20-byte key; oauth2-proxy starts only with 16, 24 or 32 bytes" in message
    assert short not in message
    assert not [r for r in caught.value.registrations if r.custom]
    # 32 random bytes, base64url as docs/ingress.md says: accepted by the same check (stacks/config.py), and a secret
    # it accepts renders the whole program: the session's prod render runs with the offline placeholder, 32 bytes raw.
    good = base64.urlsafe_b64encode(bytes(range(32))).decode()
    assert cookie_secret_problem(good) is None and cookie_secret_problem(project.SECRET_CONFIG_PLACEHOLDER) is None
    assert prod.of_type("kubernetes:apps/v1:Deployment")
