# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""The Keycloak admin client the modules share: python-keycloak's ``KeycloakAdmin``, one per thread, one admin token.

Connection (base URL, TLS verification, the timeout and retries of clients/retry.py), authentication (an admin user's password grant, a confidential
client's client-credentials grant, or a ready-made token) and error translation (``KeycloakError`` with the server's
own answer) only; which groups, roles and clients a tenant needs is tenant/keycloak.py's business.

Threads: python-keycloak's ``KeycloakOpenIDConnection`` must not be shared between threads.  It keeps one requests
``Session`` and one headers dict that its token renewal rewrites, and it renews without a lock, so every thread that
saw the token expire (or got a 401) would log in again by itself.  Each thread therefore gets its own connection and
``KeycloakAdmin`` (``Keycloak.admin``), and all of them take the token from one ``_Tokens``, which logs in once and
renews under a lock: one token request per module run (and one per expiry), as without python-keycloak.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from ansible_collections.cloudforge.platform.plugins.module_utils.clients.retry import RetryPolicy, unreachable

try:
    from keycloak import KeycloakAdmin, KeycloakOpenID, KeycloakOpenIDConnection, urls_patterns
    from keycloak.exceptions import KeycloakError as _LibraryError
    from keycloak.exceptions import KeycloakGetError, raise_error_from_response
    from requests.adapters import HTTPAdapter

    HAS_KEYCLOAK = True
    KEYCLOAK_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - reported through missing_required_lib
    HAS_KEYCLOAK = False
    KEYCLOAK_IMPORT_ERROR = exc
    KeycloakOpenIDConnection = object  # lets _Connection below be defined; never instantiated without the library

# Renew the shared token at this fraction of its lifetime (python-keycloak's own rule, which allows for clock skew).
TOKEN_LIFETIME_FRACTION = 0.9
# How long a ready-made token (the ``token`` option) is taken to be valid: the module cannot renew it anyway.
STATIC_TOKEN_SECONDS = 10 * 365 * 86400
# The renewal time of a token that is no longer the shared one (python-keycloak compares it with now).
LONG_AGO = datetime.min.replace(tzinfo=timezone.utc)
# Characters of the server's answer kept in an error message.
MESSAGE_CHARS = 300
# Characters quoted of an answer that is not JSON.
QUOTED_CHARS = 80


class KeycloakError(Exception):
    """A Keycloak request failed; the message names the call and carries the server's own answer."""

    def __init__(self, message: str, request: str | None = None, answer: str | None = None) -> None:
        super().__init__(message)
        self.request = request
        self.answer = answer


def _mount_retries(session: Any, policy: RetryPolicy) -> None:
    """The shared retry policy on a python-keycloak requests session (instead of its own, which retries POSTs)."""
    adapter = HTTPAdapter(max_retries=policy.urllib3_retry())
    session.mount("https://", adapter)
    session.mount("http://", adapter)


def _server_answer(exc: Exception) -> str:
    body = getattr(exc, "response_body", None)
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    return (body or str(getattr(exc, "error_message", "") or exc))[:MESSAGE_CHARS]


def _translate(what: str, exc: Exception, url: str) -> KeycloakError:
    code = getattr(exc, "response_code", None)
    if code is None:  # KeycloakConnectionError: nothing answered; its cause says why
        cause = exc.__cause__ or exc
        return KeycloakError(f"Keycloak {what}: cannot reach {url}: {cause}", what, unreachable(cause))
    words = _server_answer(exc)
    return KeycloakError(f"Keycloak {what}: HTTP {code}: {words}", what, f"{code} {words}")


def _json_answer(method: str, path: str, response: Any) -> Any:
    """``response`` unless it is a 2xx with a body that is not JSON."""
    body = getattr(response, "content", b"") or b""
    if 200 <= getattr(response, "status_code", 0) < 300 and body.strip():
        try:
            response.json()
        except ValueError:
            raise _not_json(f"{method} {path.split('?')[0]}", body) from None
    return response


def _not_json(what: str, body: bytes) -> KeycloakError:
    text = body[:QUOTED_CHARS].decode("utf-8", "replace")
    words = f"answered something that is not JSON (first {QUOTED_CHARS} chars: {text!r})"
    return KeycloakError(f"Keycloak {what}: {words}", what, words)


class _Tokens:
    """The admin token every thread's connection uses: fetched once, renewed under a lock by whoever needs it first."""

    def __init__(
        self,
        url: str,
        auth_realm: str,
        client_id: str,
        client_secret: str | None,
        username: str | None,
        password: str | None,
        static_token: str | None,
        verify: bool,
        timeout: int,
        policy: RetryPolicy | None = None,
    ) -> None:
        self.url = url
        self.auth_realm = auth_realm
        self.client_id = client_id
        self.username = username
        self.password = password
        self.static = static_token is not None
        self._lock = threading.Lock()
        self._token: dict | None = None
        self._expires = datetime.max.replace(tzinfo=timezone.utc)
        if static_token is not None:
            self._token = {"access_token": static_token, "expires_in": STATIC_TOKEN_SECONDS}
        # KeycloakOpenID.token() rewrites its connection's Content-Type header around the request: used under _lock.
        self._openid = None
        if static_token is None:
            self._openid = KeycloakOpenID(
                server_url=url,
                realm_name=auth_realm,
                client_id=client_id,
                client_secret_key=client_secret,
                verify=verify,
                timeout=timeout,
            )
            _mount_retries(self._openid.connection._s, policy or RetryPolicy(timeout=timeout))

    def current(self) -> dict:
        """The shared token, logging in first if nobody has yet."""
        with self._lock:
            if self._token is None:
                self._login()
            return self._token

    def renew(self, stale: dict | None) -> dict:
        """A token newer than ``stale``: the one another thread already fetched, else a fresh login."""
        with self._lock:
            if not self.static and (self._token is None or self._token is stale):
                self._login()
            return self._token

    def expires_at(self, token: dict | None) -> datetime:
        """When ``token`` is to be renewed: the shared token's renewal time; any other (older) token is long due."""
        with self._lock:
            if token is not None and token is self._token:
                return self._expires
        return LONG_AGO

    def _login(self) -> None:
        # As before python-keycloak: the password grant when a user is given, else the client-credentials grant
        # (with auth_client_secret); the secret goes with either grant when set.
        grant = "password" if self.username else "client_credentials"
        try:
            token = self._openid.token(self.username, self.password, grant_type=grant)
        except _LibraryError as exc:
            who = self.username or self.client_id
            raise _translate(f"login to realm {self.auth_realm} as {who} failed", exc, self.url) from exc
        if not isinstance(token, dict):
            raise _not_json(f"login to realm {self.auth_realm}", bytes(token or b""))
        lifetime = TOKEN_LIFETIME_FRACTION * int(token.get("expires_in", 60))
        self._token = token
        self._expires = datetime.now(tz=timezone.utc) + timedelta(seconds=lifetime)


class _Connection(KeycloakOpenIDConnection):
    """One thread's python-keycloak connection; its token comes from, and is renewed through, the shared _Tokens.

    python-keycloak renews a connection's token when ``expires_at`` has passed and when a request answers 401, both
    times through ``refresh_token()``; both go to the shared ``_Tokens`` here, so the threads never log in on their own.
    """

    def __init__(self, tokens: _Tokens, policy: RetryPolicy, **kwargs: Any) -> None:
        self._tokens = tokens
        super().__init__(token=tokens.current(), **kwargs)
        _mount_retries(self._s, policy)

    @property
    def expires_at(self) -> datetime:
        return self._tokens.expires_at(self.token)

    def get_token(self) -> None:
        self.token = self._tokens.current()

    # Every admin answer passes here: a 2xx whose body is not JSON (an HTML page from a proxy, say) is an error in
    # those words, before python-keycloak hands the raw bytes on.
    def raw_get(self, path: str, **kwargs: Any) -> Any:
        return _json_answer("GET", path, super().raw_get(path, **kwargs))

    def raw_post(self, path: str, data: Any, **kwargs: Any) -> Any:
        return _json_answer("POST", path, super().raw_post(path, data, **kwargs))

    def raw_put(self, path: str, data: Any, **kwargs: Any) -> Any:
        return _json_answer("PUT", path, super().raw_put(path, data, **kwargs))

    def raw_delete(self, path: str, data: Any = None, **kwargs: Any) -> Any:
        return _json_answer("DELETE", path, super().raw_delete(path, data, **kwargs))

    def refresh_token(self) -> None:
        self.token = self._tokens.renew(self.token)


class Keycloak:
    """The admin API of one realm, for any number of threads (each gets its own ``KeycloakAdmin``)."""

    def __init__(
        self,
        url: str,
        realm: str,
        auth_realm: str = "master",
        client_id: str = "admin-cli",
        client_secret: str | None = None,
        username: str | None = None,
        password: str | None = None,
        token: str | None = None,
        verify: bool = True,
        timeout: int = 10,
        policy: RetryPolicy | None = None,
    ) -> None:
        # python-keycloak joins its paths ("admin/realms/...") to the URL with urljoin: a trailing slash keeps a
        # context path such as https://sso.example.com/auth.
        self.url = url.rstrip("/") + "/"
        self.realm = realm
        self.verify = verify
        self.policy = policy or RetryPolicy(timeout=timeout)
        self.timeout = self.policy.timeout
        self._tokens = _Tokens(
            self.url,
            auth_realm,
            client_id,
            client_secret,
            username,
            password,
            token or None,
            verify,
            self.timeout,
            self.policy,
        )
        self._local = threading.local()

    @classmethod
    def from_params(cls, params: dict) -> Keycloak:
        """From the options of the keycloak_auth doc fragment (module_utils.common.args) and ``realm``."""
        return cls(
            params["auth_keycloak_url"],
            params["realm"],
            auth_realm=params.get("auth_realm") or "master",
            client_id=params.get("auth_client_id") or "admin-cli",
            client_secret=params.get("auth_client_secret"),
            username=params.get("auth_username"),
            password=params.get("auth_password"),
            token=params.get("token"),
            verify=params.get("validate_certs", True),
            # The tenant modules' timeout and retries (tenant_options) win over connection_timeout.
            policy=RetryPolicy.from_params(
                dict(params, timeout=params.get("timeout") or params.get("connection_timeout") or 10)
            ),
        )

    @property
    def admin(self) -> KeycloakAdmin:
        """This thread's KeycloakAdmin (made on first use; the token is shared)."""
        admin = getattr(self._local, "admin", None)
        if admin is None:
            connection = _Connection(
                self._tokens,
                self.policy,
                server_url=self.url,
                realm_name=self.realm,
                verify=self.verify,
                timeout=self.timeout,
                # Replaced by the shared policy (clients/retry.py), which never retries a POST whose answer was lost
                # (it would answer 409) and is bounded.
                max_retries=0,
            )
            admin = self._local.admin = KeycloakAdmin(connection=connection)
        return admin

    def call(self, method: str, *args: Any, missing_ok: bool = False, **kwargs: Any) -> Any:
        """``KeycloakAdmin.<method>(*args, **kwargs)`` in this thread; None for a 404 when ``missing_ok``."""
        return self._run(method, args, lambda: getattr(self.admin, method)(*args, **kwargs), missing_ok)

    def realm_exists(self) -> bool:
        """Whether the realm exists (404: it does not; any other failure is reported in the server's words)."""
        try:
            self.admin.get_realm(self.realm)
        except _LibraryError as exc:
            if getattr(exc, "response_code", None) != 404:
                raise _translate(f"get_realm({self.realm!r})", exc, self.url) from exc
            return False
        return True

    def clients_by_client_id(self, client_id: str) -> list:
        """The full representations (protocol mappers included) of the clients whose clientId is ``client_id``."""

        # python-keycloak 7.1.1 has no method for GET /clients?clientId=<id> that returns the representations:
        # get_client_id() sends this very request but returns the internal id only (get_client(id) would be a
        # second request per tenant), and get_clients() takes no query (it reads every client of the realm).  So
        # this one request goes through the connection's raw_get, with python-keycloak's authentication, token
        # renewal and error handling.
        def get() -> list:
            connection = self.admin.connection
            path = urls_patterns.URL_ADMIN_CLIENTS.format(**{"realm-name": connection.realm_name})
            return raise_error_from_response(connection.raw_get(path, clientId=client_id), KeycloakGetError)

        return self._run("get_clients", (f"clientId={client_id}",), get, False)

    def _run(self, method: str, args: tuple, func: Callable[[], Any], missing_ok: bool) -> Any:
        named = ", ".join(repr(a) for a in args if isinstance(a, str))
        try:
            result = func()
        except _LibraryError as exc:
            if missing_ok and getattr(exc, "response_code", None) == 404:
                return None
            raise _translate(f"{method}({named})", exc, self.url) from exc
        # python-keycloak returns the raw body when a 2xx answer is not JSON (an HTML page from a proxy, say).
        if isinstance(result, (bytes, bytearray)) and result.strip():
            raise _not_json(f"{method}({named})", bytes(result))
        return result
