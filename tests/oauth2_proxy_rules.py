"""oauth2-proxy's own rules, ported from the pinned release for offline tests (no Go toolchain and no release binary
here). Every check cites its origin in oauth2-proxy/oauth2-proxy at tag v7.12.0 (the image OAuth2ProxySpec pins) or in
coreos/go-oidc (oidc/verify.go, IDTokenVerifier.Verify; v7.12.0's go.mod pins go-oidc v3.14.1, whose Verify performs
the steps ported here in this order).

- `parse_args`: pflag's parsing of the container args against the flags v7.12.0 defines (FLAGS below, extracted from
  pkg/apis/options/{app,cookie,legacy_options,logging,options}.go; an unknown flag stops the binary, pflag.ExitOnError).
- `validate`: the start-up checks of pkg/validation/options.go Validate that the rendered configuration reaches.
- `Proxy`: what a running instance answers on /oauth2/auth for a bearer token: the session loaders of
  oauthproxy.go buildSessionChain, each verifying like pkg/providers/oidc/verifier.go over go-oidc, then the email
  validator (validator.go) and the provider's Authorize (providers/provider_default.go:123-135).
- RS256 (RSASSA-PKCS1-v1_5 with SHA-256, RFC 8017 section 8.2) in plain Python: the tests sign their own tokens.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

PINNED = "v7.12.0"

# name: (pflag type, where v7.12.0 defines it under pkg/apis/options/).
FLAGS: dict[str, tuple[str, str]] = {
    "custom-templates-dir": ("String", "app.go:43"),
    "custom-sign-in-logo": ("String", "app.go:44"),
    "banner": ("String", "app.go:45"),
    "footer": ("String", "app.go:46"),
    "display-htpasswd-form": ("Bool", "app.go:47"),
    "show-debug-on-error": ("Bool", "app.go:48"),
    "cookie-name": ("String", "cookie.go:32"),
    "cookie-secret": ("String", "cookie.go:33"),
    "cookie-secret-file": ("String", "cookie.go:34"),
    "cookie-domain": ("StringSlice", "cookie.go:35"),
    "cookie-path": ("String", "cookie.go:36"),
    "cookie-expire": ("Duration", "cookie.go:37"),
    "cookie-refresh": ("Duration", "cookie.go:38"),
    "cookie-secure": ("Bool", "cookie.go:39"),
    "cookie-httponly": ("Bool", "cookie.go:40"),
    "cookie-samesite": ("String", "cookie.go:41"),
    "cookie-csrf-per-request": ("Bool", "cookie.go:42"),
    "cookie-csrf-per-request-limit": ("Int", "cookie.go:43"),
    "cookie-csrf-expire": ("Duration", "cookie.go:44"),
    "flush-interval": ("Duration", "legacy_options.go:115"),
    "pass-host-header": ("Bool", "legacy_options.go:116"),
    "proxy-websockets": ("Bool", "legacy_options.go:117"),
    "ssl-upstream-insecure-skip-verify": ("Bool", "legacy_options.go:118"),
    "upstream": ("StringSlice", "legacy_options.go:119"),
    "upstream-timeout": ("Duration", "legacy_options.go:120"),
    "disable-keep-alives": ("Bool", "legacy_options.go:121"),
    "pass-basic-auth": ("Bool", "legacy_options.go:212"),
    "pass-access-token": ("Bool", "legacy_options.go:213"),
    "pass-user-headers": ("Bool", "legacy_options.go:214"),
    "pass-authorization-header": ("Bool", "legacy_options.go:215"),
    "set-basic-auth": ("Bool", "legacy_options.go:217"),
    "set-xauthrequest": ("Bool", "legacy_options.go:218"),
    "set-authorization-header": ("Bool", "legacy_options.go:219"),
    "prefer-email-to-user": ("Bool", "legacy_options.go:221"),
    "basic-auth-password": ("String", "legacy_options.go:222"),
    "skip-auth-strip-headers": ("Bool", "legacy_options.go:223"),
    "metrics-address": ("String", "legacy_options.go:474"),
    "metrics-secure-address": ("String", "legacy_options.go:475"),
    "metrics-tls-cert-file": ("String", "legacy_options.go:476"),
    "metrics-tls-key-file": ("String", "legacy_options.go:477"),
    "http-address": ("String", "legacy_options.go:478"),
    "https-address": ("String", "legacy_options.go:479"),
    "tls-cert-file": ("String", "legacy_options.go:480"),
    "tls-key-file": ("String", "legacy_options.go:481"),
    "tls-min-version": ("String", "legacy_options.go:482"),
    "tls-cipher-suite": ("StringSlice", "legacy_options.go:483"),
    "keycloak-group": ("StringSlice", "legacy_options.go:559"),
    "azure-tenant": ("String", "legacy_options.go:560"),
    "azure-graph-group-field": ("String", "legacy_options.go:561"),
    "entra-id-allowed-tenant": ("StringSlice", "legacy_options.go:562"),
    "entra-id-federated-token-auth": ("Bool", "legacy_options.go:563"),
    "bitbucket-team": ("String", "legacy_options.go:564"),
    "bitbucket-repository": ("String", "legacy_options.go:565"),
    "github-org": ("String", "legacy_options.go:566"),
    "github-team": ("String", "legacy_options.go:567"),
    "github-repo": ("String", "legacy_options.go:568"),
    "github-token": ("String", "legacy_options.go:569"),
    "github-user": ("StringSlice", "legacy_options.go:570"),
    "gitlab-group": ("StringSlice", "legacy_options.go:571"),
    "gitlab-project": ("StringSlice", "legacy_options.go:572"),
    "client-id": ("String", "legacy_options.go:573"),
    "client-secret": ("String", "legacy_options.go:574"),
    "client-secret-file": ("String", "legacy_options.go:575"),
    "provider": ("String", "legacy_options.go:577"),
    "provider-display-name": ("String", "legacy_options.go:578"),
    "provider-ca-file": ("StringSlice", "legacy_options.go:579"),
    "use-system-trust-store": ("Bool", "legacy_options.go:580"),
    "oidc-issuer-url": ("String", "legacy_options.go:581"),
    "insecure-oidc-allow-unverified-email": ("Bool", "legacy_options.go:582"),
    "insecure-oidc-skip-issuer-verification": ("Bool", "legacy_options.go:583"),
    "insecure-oidc-skip-nonce": ("Bool", "legacy_options.go:584"),
    "skip-oidc-discovery": ("Bool", "legacy_options.go:585"),
    "oidc-jwks-url": ("String", "legacy_options.go:586"),
    "oidc-groups-claim": ("String", "legacy_options.go:587"),
    "oidc-email-claim": ("String", "legacy_options.go:588"),
    "oidc-audience-claim": ("StringSlice", "legacy_options.go:589"),
    "oidc-extra-audience": ("StringSlice", "legacy_options.go:590"),
    "oidc-public-key-file": ("StringSlice", "legacy_options.go:591"),
    "login-url": ("String", "legacy_options.go:592"),
    "redeem-url": ("String", "legacy_options.go:593"),
    "profile-url": ("String", "legacy_options.go:594"),
    "auth-request-response-mode": ("String", "legacy_options.go:595"),
    "skip-claims-from-profile-url": ("Bool", "legacy_options.go:596"),
    "resource": ("String", "legacy_options.go:597"),
    "validate-url": ("String", "legacy_options.go:598"),
    "scope": ("String", "legacy_options.go:599"),
    "prompt": ("String", "legacy_options.go:600"),
    "approval-prompt": ("String", "legacy_options.go:601"),
    "code-challenge-method": ("String", "legacy_options.go:602"),
    "force-code-challenge-method": ("String", "legacy_options.go:603"),
    "acr-values": ("String", "legacy_options.go:605"),
    "jwt-key": ("String", "legacy_options.go:606"),
    "jwt-key-file": ("String", "legacy_options.go:607"),
    "pubjwk-url": ("String", "legacy_options.go:608"),
    "user-id-claim": ("String", "legacy_options.go:610"),
    "allowed-group": ("StringSlice", "legacy_options.go:611"),
    "allowed-role": ("StringSlice", "legacy_options.go:612"),
    "backend-logout-url": ("String", "legacy_options.go:613"),
    "google-group": ("StringSlice", "legacy_options.go:621"),
    "google-admin-email": ("String", "legacy_options.go:622"),
    "google-service-account-json": ("String", "legacy_options.go:623"),
    "google-use-application-default-credentials": ("String", "legacy_options.go:624"),
    "google-target-principal": ("String", "legacy_options.go:625"),
    "auth-logging": ("Bool", "logging.go:36"),
    "auth-logging-format": ("String", "logging.go:37"),
    "standard-logging": ("Bool", "logging.go:38"),
    "standard-logging-format": ("String", "logging.go:39"),
    "request-logging": ("Bool", "logging.go:40"),
    "request-logging-format": ("String", "logging.go:41"),
    "errors-to-info-log": ("Bool", "logging.go:42"),
    "exclude-logging-path": ("StringSlice", "logging.go:44"),
    "logging-local-time": ("Bool", "logging.go:45"),
    "silence-ping-logging": ("Bool", "logging.go:46"),
    "request-id-header": ("String", "logging.go:47"),
    "logging-filename": ("String", "logging.go:49"),
    "logging-max-size": ("Int", "logging.go:50"),
    "logging-max-age": ("Int", "logging.go:51"),
    "logging-max-backups": ("Int", "logging.go:52"),
    "logging-compress": ("Bool", "logging.go:53"),
    "reverse-proxy": ("Bool", "options.go:120"),
    "real-client-ip-header": ("String", "options.go:121"),
    "trusted-ip": ("StringSlice", "options.go:122"),
    "force-https": ("Bool", "options.go:123"),
    "redirect-url": ("String", "options.go:124"),
    "relative-redirect-url": ("Bool", "options.go:125"),
    "skip-auth-regex": ("StringSlice", "options.go:126"),
    "skip-auth-route": ("StringSlice", "options.go:127"),
    "api-route": ("StringSlice", "options.go:128"),
    "skip-provider-button": ("Bool", "options.go:129"),
    "skip-auth-preflight": ("Bool", "options.go:130"),
    "ssl-insecure-skip-verify": ("Bool", "options.go:131"),
    "skip-jwt-bearer-tokens": ("Bool", "options.go:132"),
    "bearer-token-login-fallback": ("Bool", "options.go:133"),
    "force-json-errors": ("Bool", "options.go:134"),
    "encode-state": ("Bool", "options.go:135"),
    "allow-query-semicolons": ("Bool", "options.go:136"),
    "extra-jwt-issuers": ("StringSlice", "options.go:137"),
    "email-domain": ("StringSlice", "options.go:139"),
    "whitelist-domain": ("StringSlice", "options.go:140"),
    "authenticated-emails-file": ("String", "options.go:141"),
    "htpasswd-file": ("String", "options.go:142"),
    "htpasswd-user-group": ("StringSlice", "options.go:143"),
    "proxy-prefix": ("String", "options.go:144"),
    "ping-path": ("String", "options.go:145"),
    "ping-user-agent": ("String", "options.go:146"),
    "ready-path": ("String", "options.go:147"),
    "session-store-type": ("String", "options.go:148"),
    "session-cookie-minimal": ("Bool", "options.go:149"),
    "redis-connection-url": ("String", "options.go:150"),
    "redis-username": ("String", "options.go:151"),
    "redis-password": ("String", "options.go:152"),
    "redis-use-sentinel": ("Bool", "options.go:153"),
    "redis-sentinel-password": ("String", "options.go:154"),
    "redis-sentinel-master-name": ("String", "options.go:155"),
    "redis-ca-path": ("String", "options.go:156"),
    "redis-insecure-skip-tls-verify": ("Bool", "options.go:157"),
    "redis-sentinel-connection-urls": ("StringSlice", "options.go:158"),
    "redis-use-cluster": ("Bool", "options.go:159"),
    "redis-cluster-connection-urls": ("StringSlice", "options.go:160"),
    "redis-connection-idle-timeout": ("Int", "options.go:161"),
    "signature-key": ("String", "options.go:162"),
    "gcp-healthchecks": ("Bool", "options.go:163"),
}

_TRUE, _FALSE = {"1", "t", "T", "TRUE", "true", "True"}, {"0", "f", "F", "FALSE", "false", "False"}  # Go strconv.ParseBool


def parse_args(args: Sequence[str]) -> tuple[dict[str, Any], list[str]]:
    """Flag values as pflag would set them, and the errors that stop the binary before it validates anything."""
    values: dict[str, Any] = {}
    errors: list[str] = []
    for arg in args:
        if not arg.startswith("--") or "=" not in arg:
            errors.append(f"not a --flag=value argument: {arg}")
            continue
        name, value = arg[2:].split("=", 1)
        if name not in FLAGS:
            errors.append(f"unknown flag: --{name}")
            continue
        kind = FLAGS[name][0]
        if kind == "Bool":
            if value not in _TRUE | _FALSE:
                errors.append(f"invalid argument {value!r} for --{name}")
            values[name] = value in _TRUE
        elif kind == "Int":
            if not value.lstrip("-").isdigit():
                errors.append(f"invalid argument {value!r} for --{name}")
            values[name] = value
        elif kind == "StringSlice":
            # pflag string_slice.go: each occurrence is read as CSV (Go encoding/csv: a bare quote is an error) and appended.
            if '"' in value:
                errors.append(f"invalid argument {value!r} for --{name}: bare \" in non-quoted field")
            values.setdefault(name, []).extend(value.split(","))
        else:
            values[name] = value
    return values, errors


def secret_bytes(secret: str) -> bytes:
    """pkg/encryption/utils.go:24-39 SecretBytes: base64url-decoded if that gives an AES length, else the raw string."""
    trimmed = secret.rstrip("=")
    # base64.RawURLEncoding: the URL-safe alphabet, no padding; 4n+1 characters never decode.
    if re.fullmatch(r"[A-Za-z0-9_-]*", trimmed) and len(trimmed) % 4 != 1:
        b = base64.urlsafe_b64decode(trimmed + "=" * (-len(trimmed) % 4))
        if len(b) in (16, 24, 32):
            return b
    return secret.encode()


def validate(values: Mapping[str, Any], files: Mapping[str, str]) -> list[str]:
    """The messages pkg/validation Validate returns for these flag values; `files` is the container's file system."""
    msgs: list[str] = []
    # cookie.go:53-88: a cookie secret (file) of 16, 24 or 32 bytes.
    secret, secret_file = values.get("cookie-secret", ""), values.get("cookie-secret-file", "")
    if not secret and not secret_file:
        msgs.append("missing setting: cookie-secret or cookie-secret-file")
    elif not secret:
        if secret_file not in files:
            msgs.append(f"could not read cookie secret file: {secret_file}")
        elif len(secret_bytes(files[secret_file])) not in (16, 24, 32):
            msgs.append("cookie_secret from file must be 16, 24, or 32 bytes to create an AES cipher")
    elif len(secret_bytes(secret)) not in (16, 24, 32):
        msgs.append("cookie_secret must be 16, 24, or 32 bytes to create an AES cipher")
    # cookie.go:24-28
    if values.get("cookie-samesite", "") not in ("", "none", "lax", "strict"):
        msgs.append("cookie_samesite must be one of ['', 'lax', 'strict', 'none']")
    # providers.go:45-47, 78-91 (oidc needs a client secret)
    if not values.get("client-id"):
        msgs.append("provider missing setting: client-id")
    if not values.get("client-secret") and not values.get("client-secret-file"):
        msgs.append("missing setting: client-secret or client-secret-file")
    elif not values.get("client-secret") and values["client-secret-file"] not in files:
        msgs.append(f"could not read client secret file: {values['client-secret-file']}")
    # pkg/providers/oidc/provider_verifier.go:65-67: the oidc provider's verifier needs the issuer.
    if values.get("provider", "google") == "oidc" and not values.get("oidc-issuer-url"):
        msgs.append("missing required setting: issuer-url")
    # options.go:49-52
    if not values.get("authenticated-emails-file") and not values.get("email-domain") and not values.get("htpasswd-file"):
        msgs.append("missing setting for email validation: email-domain or authenticated-emails-file required.")
    # options.go:54-71, 129-141: issuer=audience pairs.
    if values.get("skip-jwt-bearer-tokens"):
        for pair in values.get("extra-jwt-issuers", []):
            if len(pair.split("=")) < 2:
                msgs.append(f"invalid jwt verifier uri=audience spec: {pair}")
    # options.go:74 parses the redirect URL (Go url.Parse accepts a path or an absolute URL).
    redirect = values.get("redirect-url", "")
    if redirect and not (redirect.startswith("/") or urllib.parse.urlsplit(redirect).scheme in ("http", "https")):
        msgs.append(f"error parsing redirect-url={redirect!r}")
    # legacy_options.go:126-160 + upstreams.go: static://<code> needs a status code.
    for upstream in values.get("upstream", []):
        u = urllib.parse.urlsplit(upstream)
        if u.scheme == "static" and not u.netloc.isdigit():
            msgs.append(f"could not parse static upstream code: {upstream}")
    # options.go:82-87, pkg/ip: the accepted real-client-IP headers.
    if values.get("reverse-proxy") and values.get("real-client-ip-header", "X-Real-IP").lower() not in (
            "x-forwarded-for", "x-real-ip", "x-proxyuser-ip", "x-envoy-external-address", "cf-connecting-ip"):
        msgs.append("real_client_ip_header not accepted parameter value")
    return msgs


# --- RS256 ------------------------------------------------------------------------------------------------------------

_SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")  # RFC 8017 section 9.2, note 1


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _probable_prime(bits: int) -> int:
    small = [p for p in range(3, 2000, 2) if all(p % q for q in range(3, int(p ** 0.5) + 1, 2))]
    while True:
        n = secrets.randbits(bits) | (1 << (bits - 1)) | (1 << (bits - 2)) | 1
        if any(n % p == 0 for p in small):
            continue
        d, r = n - 1, 0
        while d % 2 == 0:
            d, r = d // 2, r + 1
        for _ in range(40):  # Miller-Rabin
            x = pow(secrets.randbelow(n - 3) + 2, d, n)
            if x in (1, n - 1):
                continue
            for _ in range(r - 1):
                x = pow(x, 2, n)
                if x == n - 1:
                    break
            else:
                break
        else:
            return n


@dataclass(frozen=True)
class RsaKey:
    kid: str
    n: int
    e: int
    d: int

    @staticmethod
    def generate(kid: str, bits: int = 2048) -> RsaKey:
        e = 65537
        while True:
            p, q = _probable_prime(bits // 2), _probable_prime(bits // 2)
            phi = (p - 1) * (q - 1)
            if p != q and phi % e and (p * q).bit_length() == bits:
                return RsaKey(kid, p * q, e, pow(e, -1, phi))

    def jwk(self) -> dict[str, str]:
        size = (self.n.bit_length() + 7) // 8
        return {"kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid,
                "n": _b64(self.n.to_bytes(size, "big")), "e": _b64(self.e.to_bytes(3, "big"))}

    def sign(self, claims: Mapping[str, Any], header: Mapping[str, Any] | None = None) -> str:
        head = {"typ": "JWT", "alg": "RS256", "kid": self.kid, **(header or {})}
        signing_input = f"{_b64(json.dumps(head).encode())}.{_b64(json.dumps(claims).encode())}"
        size = (self.n.bit_length() + 7) // 8
        m = int.from_bytes(_emsa_pkcs1_v15(signing_input.encode(), size), "big")
        return f"{signing_input}.{_b64(pow(m, self.d, self.n).to_bytes(size, 'big'))}"


def _emsa_pkcs1_v15(message: bytes, size: int) -> bytes:
    t = _SHA256_DIGEST_INFO + hashlib.sha256(message).digest()
    return b"\x00\x01" + b"\xff" * (size - len(t) - 3) + b"\x00" + t


def _rs256_valid(jwk: Mapping[str, str], signing_input: bytes, signature: bytes) -> bool:
    n, e = int.from_bytes(_unb64(jwk["n"]), "big"), int.from_bytes(_unb64(jwk["e"]), "big")
    size = (n.bit_length() + 7) // 8
    if len(signature) != size:
        return False
    return pow(int.from_bytes(signature, "big"), e, n).to_bytes(size, "big") == _emsa_pkcs1_v15(signing_input, size)


# --- verification and authorisation -----------------------------------------------------------------------------------


class TokenError(Exception):
    pass


@dataclass(frozen=True)
class Verifier:
    """pkg/providers/oidc/verifier.go idTokenVerifier over go-oidc's IDTokenVerifier (SkipClientIDCheck: true,
    provider_verifier.go:93-100; the audience is checked by verifyAudience instead)."""

    issuer: str
    audiences: frozenset[str]
    audience_claims: tuple[str, ...]
    jwks: Callable[[], list[dict[str, str]]]
    algs: tuple[str, ...] = ("RS256",)  # go-oidc's default; Entra's discovery lists RS256

    def verify(self, token: str, now: float) -> dict[str, Any]:
        parts = token.split(".")
        if len(parts) != 3:
            raise TokenError("oidc: malformed jwt")
        try:
            header, claims = json.loads(_unb64(parts[0])), json.loads(_unb64(parts[1]))
        except ValueError as exc:
            raise TokenError(f"oidc: malformed jwt: {exc}") from exc
        if claims.get("iss") != self.issuer:  # verify.go: "id token issued by a different provider"
            raise TokenError(f"oidc: id token issued by a different provider, expected {self.issuer!r} got {claims.get('iss')!r}")
        exp = claims.get("exp")
        if not isinstance(exp, (int, float)) or exp < now:  # verify.go: t.Expiry.Before(now) -> TokenExpiredError
            raise TokenError("oidc: token is expired")
        nbf = claims.get("nbf")
        if isinstance(nbf, (int, float)) and now + 300 < nbf:  # verify.go: 5 minutes' leeway
            raise TokenError("oidc: current time before the nbf (not before) time")
        if header.get("alg") not in self.algs:  # jose.ParseSigned with the supported algorithms
            raise TokenError(f"oidc: malformed jwt: unexpected signature algorithm {header.get('alg')!r}")
        keys = [k for k in self.jwks() if "kid" not in header or k.get("kid") == header["kid"]]
        signing_input, signature = f"{parts[0]}.{parts[1]}".encode(), _unb64(parts[2])
        if not any(_rs256_valid(k, signing_input, signature) for k in keys):  # RemoteKeySet.VerifySignature
            raise TokenError("failed to verify signature")
        # verifier.go:63-97 verifyAudience: the first audience claim present, a string or a list of strings.
        for claim in self.audience_claims:
            if claim in claims:
                value = claims[claim]
                auds = value if isinstance(value, list) else [value]
                if not any(a in self.audiences for a in auds):
                    raise TokenError(f"audience from claim {claim} with value {auds} does not match {sorted(self.audiences)}")
                return claims
        raise TokenError(f"audience claims {list(self.audience_claims)} do not exist in claims")


@dataclass(frozen=True)
class Session:
    email: str
    user: str
    groups: tuple[str, ...]


@dataclass
class Proxy:
    """A running instance as its flags configure it. `jwks_for(issuer)` stands in for discovery's jwks_uri."""

    values: Mapping[str, Any]
    jwks_for: Callable[[str], Callable[[], list[dict[str, str]]]]
    loaders: list[Callable[[str, float], Session]] = field(default_factory=list)

    def __post_init__(self) -> None:
        v = self.values
        audience_claims = tuple(v.get("oidc-audience-claim", ["aud"]))  # legacy_options.go:589 default ["aud"]
        if not v.get("skip-jwt-bearer-tokens"):
            return
        issuer = v["oidc-issuer-url"]
        provider = Verifier(issuer, frozenset([v["client-id"], *v.get("oidc-extra-audience", [])]), audience_claims,
                            self.jwks_for(issuer))
        groups_claim = v.get("oidc-groups-claim", "groups")  # legacy_options.go:587
        email_claim = v.get("oidc-email-claim", "email")  # legacy_options.go:588

        def from_provider(token: str, now: float) -> Session:
            # providers/oidc.go:198-223 CreateSessionFromToken + provider_data.go:243-288 buildSessionFromClaims.
            claims = provider.verify(token, now)
            if email_claim == "email" and claims.get("email_verified") is False:
                raise TokenError("email in id_token isn't verified")
            user = claims.get("sub", "")
            return Session(claims.get(email_claim) or user, user, tuple(_strings(claims.get(groups_claim))))

        self.loaders = [from_provider]
        for pair in v.get("extra-jwt-issuers", []):
            # options.go:129-166: issuer=audience; the audience is the verifier's client id.
            iss, aud = pair.split("=")[0], "=".join(pair.split("=")[1:])
            extra = Verifier(iss, frozenset([aud, *v.get("oidc-extra-audience", [])]), audience_claims, self.jwks_for(iss))

            def from_extra(token: str, now: float, extra: Verifier = extra) -> Session:
                # pkg/apis/middleware/session.go:20-59: groups from `groups`, email from `email` or else `sub`.
                claims = extra.verify(token, now)
                if claims.get("email_verified") is False:
                    raise TokenError("email in id_token isn't verified")
                return Session(claims.get("email") or claims.get("sub", ""), claims.get("sub", ""),
                               tuple(_strings(claims.get("groups"))))

            self.loaders.append(from_extra)

    def session(self, token: str, now: float) -> Session | None:
        """pkg/middleware/jwt_session.go:69-93: the first loader that verifies the token wins."""
        for loader in self.loaders:
            try:
                return loader(token, now)
            except TokenError:
                continue
        return None

    def auth(self, token: str, now: float) -> int:
        """oauthproxy.go AuthOnly: 202, or 401 for no session, a refused email or a failed Authorize."""
        s = self.session(token, now)
        if s is None:
            return 401
        domains = [d.lower() for d in self.values.get("email-domain", [])]
        email = s.email.lower()
        # validator.go:76-104: `*` admits all, else a domain suffix match (an empty email never passes).
        valid = bool(email) and ("*" in domains or any(email.endswith("@" + d) for d in domains))
        if s.email and not valid:
            return 401
        allowed = set(self.values.get("allowed-group", []))  # provider_default.go:123-135
        if allowed and not allowed & set(s.groups):
            return 401
        return 202


def _strings(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(x) for x in value] if isinstance(value, list) else [str(value)]


def serve_jwks(keys: Sequence[RsaKey]) -> tuple[str, Callable[[], None]]:
    """A local JWKS endpoint (the issuer's jwks_uri stand-in): its URL and a function that stops it."""
    import http.server
    import threading

    body = json.dumps({"keys": [k.jwk() for k in keys]}).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/discovery/v2.0/keys", server.shutdown


def fetch_jwks(url: str) -> Callable[[], list[dict[str, str]]]:
    def get() -> list[dict[str, str]]:
        with urllib.request.urlopen(url, timeout=5) as response:
            keys: list[dict[str, str]] = json.load(response)["keys"]
            return keys
    return get
