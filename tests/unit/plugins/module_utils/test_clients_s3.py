# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""The S3 / MinIO client: connection settings from the s3_auth options, "does not exist" from the admin API, IAM
policies compared by meaning, and a user's keys checked against a small fake S3 endpoint on loopback."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from minio.error import MinioAdminException

from ansible_collections.cloudforge.platform.plugins.module_utils.clients import s3 as s3_client

LIST_BUCKETS = (
    '<?xml version="1.0" encoding="UTF-8"?><ListAllMyBucketsResult><Owner><ID>x</ID></Owner><Buckets>'
    "<Bucket><Name>acme-models</Name><CreationDate>2026-01-01T00:00:00.000Z</CreationDate></Bucket>"
    "</Buckets></ListAllMyBucketsResult>"
)


def _error(code):
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{code}</Message>'
        "<Resource>/</Resource><RequestId>1</RequestId><HostId>h</HostId></Error>"
    )


@pytest.fixture
def s3_at():
    """A fake S3 endpoint answering ListBuckets according to the access key of the request."""
    answers = {"good": (200, LIST_BUCKETS), "limited": (403, _error("AccessDenied"))}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            key = self.headers.get("Authorization", "").split("Credential=")[-1].split("/")[0]
            status, body = answers.get(key, (403, _error("InvalidAccessKeyId")))
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield s3_client.S3(f"http://127.0.0.1:{server.server_port}", "admin", "admin-secret")
    server.shutdown()
    server.server_close()


def test_from_params_reads_the_s3_auth_options():
    s3 = s3_client.S3.from_params(
        {
            "endpoint_url": "https://minio.example:9000",
            "access_key": "a",
            "secret_key": "s",
            "region": None,
            "validate_certs": False,
            "ca_cert": "/etc/ssl/minio-ca.pem",
        }
    )
    assert (s3.endpoint, s3.secure, s3.region, s3.url) == (
        "minio.example:9000",
        True,
        "us-east-1",
        "https://minio.example:9000",
    )
    assert s3.validate_certs is False
    assert s3._http().connection_pool_kw["ca_certs"] == "/etc/ssl/minio-ca.pem"
    plain = s3_client.S3("http://minio:9000", "a", "s", ca_cert="/etc/ssl/minio-ca.pem")
    assert plain.secure is False and "ca_certs" not in plain._http().connection_pool_kw


def test_admin_json_is_none_for_404_and_raises_other_errors():
    def missing():
        raise MinioAdminException("404", '{"Code":"XMinioAdminNoSuchUser"}')

    def refused():
        raise MinioAdminException("403", '{"Code":"AccessDenied"}')

    assert s3_client.admin_json(missing) is None
    assert s3_client.admin_json(lambda: '{"quota": 5}') == {"quota": 5}
    assert s3_client.admin_json(lambda: "") == {}
    with pytest.raises(MinioAdminException, match="Status: 403"):
        s3_client.admin_json(refused)


def test_policies_compare_by_meaning():
    wanted = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["s3:*"], "Resource": ["arn:aws:s3:::b/*", "arn:aws:s3:::b"]}],
    }
    stored = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"]}]}'
    assert s3_client.normalise_policy(stored) == s3_client.normalise_policy(wanted)
    other = dict(wanted, Statement=[dict(wanted["Statement"][0], Resource=["arn:aws:s3:::c"])])
    assert s3_client.normalise_policy(other) != s3_client.normalise_policy(wanted)


def test_keys_work_tells_accepted_keys_from_refused_ones(s3_at):
    assert s3_at.keys_work("good", "x") is True
    assert s3_at.keys_work("limited", "x") is True  # accepted, only not allowed to list every bucket
    assert s3_at.keys_work("unknown", "x") is False
