# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""The S3 / MinIO client the modules share: minio's ``Minio`` (S3 API) and ``MinioAdmin`` (MinIO's admin API).

Connection (endpoint URL, TLS verification and CA bundle, one urllib3 pool with the timeout and retries of
clients/retry.py), credentials (the admin keys, or a user's keys to check them) and error translation (an admin answer
of 404 is "does not exist"; ``words`` gives MinIO's own words for any failure, an answer that is not XML or JSON named
as such) only; which buckets, users and policies a tenant or a model needs is the domains' business.
"""

from __future__ import annotations

import json
from typing import Any, Callable
from urllib.parse import urlparse

from ansible_collections.cloudforge.platform.plugins.module_utils.clients.retry import RetryPolicy, unreachable

try:
    import urllib3
    from minio import Minio, MinioAdmin
    from minio.credentials import StaticProvider
    from minio.error import InvalidResponseError, MinioAdminException, S3Error

    HAS_MINIO = True
    MINIO_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - reported through missing_required_lib
    HAS_MINIO = False
    MINIO_IMPORT_ERROR = exc

# S3 error codes that mean the keys were refused (AccessDenied: accepted, but not allowed to list buckets).
KEY_REFUSED = ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied")
# Characters quoted of an answer that is not what was asked for.
QUOTED_CHARS = 80


class MalformedAnswer(Exception):
    """MinIO answered something that is not what the request asks for (JSON of the admin API, XML of the S3 API)."""

    def __init__(self, what: str, body: Any) -> None:
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body or "")
        self.answer = f"answered something that is not {what} (first {QUOTED_CHARS} chars: {text[:QUOTED_CHARS]!r})"
        super().__init__(self.answer)


def words(exc: BaseException) -> str:
    """MinIO's own words in a failure of the S3 or admin API, or why it could not be reached."""
    if isinstance(exc, S3Error):
        return f"{exc.code}: {exc.message} ({exc.bucket_name or ''}{'/' + exc.object_name if exc.object_name else ''})"
    if isinstance(exc, InvalidResponseError):
        if 200 <= (exc._code or 0) < 300:
            return MalformedAnswer("XML", exc._body).answer
        return f"{exc._code} {(exc._body or '')[:200]}"
    if isinstance(exc, MinioAdminException):
        return f"{exc._code} {(exc._body or '')[:200]}"
    if isinstance(exc, urllib3.exceptions.HTTPError):
        reason = getattr(exc, "reason", None) or exc
        return unreachable(f"{type(reason).__name__}: {reason}")
    if isinstance(exc, MalformedAnswer):
        return exc.answer
    return str(exc) or type(exc).__name__  # another client's error (OpenBao's, where the keys are kept) says whose


class S3:
    """An S3 API client (``client``) and a MinIO admin API client (``admin``) sharing one connection pool."""

    def __init__(
        self,
        endpoint_url: str,
        access_key: str,
        secret_key: str,
        region: str = "us-east-1",
        validate_certs: bool = True,
        ca_cert: str | None = None,
        policy: RetryPolicy | None = None,
    ) -> None:
        self.policy = policy or RetryPolicy()
        parsed = urlparse(endpoint_url)
        self.endpoint = parsed.netloc or parsed.path
        self.secure = parsed.scheme == "https"
        self.region = region
        self.validate_certs = validate_certs
        self.ca_cert = ca_cert
        http = self._http()
        self.client = Minio(
            self.endpoint,
            access_key=access_key,
            secret_key=secret_key,
            secure=self.secure,
            region=region,
            http_client=http,
            cert_check=validate_certs,
        )
        self.admin = MinioAdmin(
            endpoint=self.endpoint,
            credentials=StaticProvider(access_key, secret_key),
            secure=self.secure,
            cert_check=validate_certs,
            http_client=http,
        )
        self.url = endpoint_url

    def _http(self) -> urllib3.PoolManager:
        kwargs = {
            "maxsize": 32,
            "timeout": self.policy.urllib3_timeout(),
            "retries": self.policy.urllib3_retry(),
        }
        if self.secure and self.ca_cert:
            kwargs["ca_certs"] = self.ca_cert
        return urllib3.PoolManager(**kwargs)

    @classmethod
    def from_params(cls, params: dict) -> S3:
        """From the options of the s3_auth doc fragment (module_utils.common.args)."""
        return cls(
            params["endpoint_url"],
            params["access_key"],
            params["secret_key"],
            region=params.get("region") or "us-east-1",
            validate_certs=params.get("validate_certs", True),
            ca_cert=params.get("ca_cert"),
            policy=RetryPolicy.from_params(params),
        )

    def as_user(self, access_key: str, secret_key: str) -> Minio:
        """An S3 API client on the same endpoint with another user's keys (its own pool)."""
        return Minio(
            self.endpoint,
            access_key=access_key,
            secret_key=secret_key,
            secure=self.secure,
            region=self.region,
            http_client=self._http(),
            cert_check=self.validate_certs,
        )

    def keys_work(self, access_key: str, secret_key: str) -> bool:
        """Whether MinIO accepts these keys (one ListBuckets request made with them)."""
        try:
            self.as_user(access_key, secret_key).list_buckets()
            return True
        except S3Error as exc:
            if exc.code in KEY_REFUSED:
                return exc.code == "AccessDenied"
            raise


def admin_json(call: Callable[[], str]) -> Any:
    """The JSON an admin API call returns, or None when the thing does not exist (HTTP 404)."""
    try:
        text = call()
    except MinioAdminException as exc:
        if str(exc.args[0] if exc.args else "").find("Status: 404") != -1:
            return None
        raise
    try:
        return json.loads(text) if text else {}
    except ValueError:
        raise MalformedAnswer("JSON", text) from None


def normalise_policy(policy: str | dict) -> list[dict]:
    """An IAM policy (a dict, or the JSON text the admin API answers) in a form that compares equal when it means
    the same: statements sorted, each one's actions and resources as sorted lists."""
    if isinstance(policy, str):
        policy = json.loads(policy)
    statements = []
    for st in policy.get("Statement", []):
        st = dict(st)
        for key in ("Action", "Resource"):
            value = st.get(key, [])
            st[key] = sorted([value] if isinstance(value, str) else value)
        statements.append(st)
    return sorted(statements, key=lambda s: json.dumps(s, sort_keys=True))
