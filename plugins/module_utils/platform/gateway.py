# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Services published through the platform's gateway (APISIX), and the names their certificates must carry.

OpenBao runs in the cluster; the controller (the host the platform playbooks run on) reaches it through the
gateway: ``https://openbao.<domain>`` is the active server (the chart's ``openbao-active`` Service) and
``https://openbao-<i>.<domain>`` is raft member ``i`` (one Service per pod), because the bootstrap must reach
every member to unseal it. APISIX terminates TLS with a certificate from the platform CA (``cloudforge-ca``)
that carries those names and re-encrypts to OpenBao, whose own certificate carries them too (APISIX sends the
request's host as SNI and checks it against the platform CA). Keycloak and Grafana are published the same way,
at their host names, to plain-HTTP backends.

Host-name matching follows RFC 6125 section 6.4: a DNS name matches case-insensitively, a wildcard only as the
whole left-most label (``*.example.com`` covers ``a.example.com``, never ``example.com`` nor ``a.b.example.com``),
and an IP address only by the certificate's ``ipAddresses``, never by a DNS name.

Plain Python (no Ansible, no third-party import): the filters ``cloudforge.platform.openbao_addresses``,
``cloudforge.platform.tls_uncovered`` and ``cloudforge.platform.gateway_objects`` call it.
"""

import ipaddress
import re
from urllib.parse import urlsplit

# A DNS label (RFC 1123): letters, digits and hyphens, not starting or ending with a hyphen.
_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
GATEWAY_CLASS = "apisix"
ISSUER = {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": "cloudforge-ca"}
PART_OF = {"app.kubernetes.io/part-of": "cloudforge"}
OPENBAO_PORT = 8200


def check_hostname(hostname, field="hostname"):
    """``hostname`` lower-cased, or ValueError naming ``field`` when it is not a DNS name of two labels or more."""
    name = str(hostname or "").strip().lower().rstrip(".")
    labels = name.split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels) or len(name) > 253:
        raise ValueError(
            f"{field}: {hostname!r} is not a fully qualified DNS name (for example openbao.cloud.example.com); "
            "set it (or cloudforge_domain) to a name your DNS resolves to the gateway"
        )
    return name


def member_hostname(hostname, index):
    """The host name of raft member ``index``: ``openbao.example.com`` -> ``openbao-0.example.com``."""
    first, rest = check_hostname(hostname).split(".", 1)
    return f"{first}-{int(index)}.{rest}"


def https_url(host, port=443):
    """``https://host`` (port 443 is left out) or ``https://host:port``."""
    port = int(port)
    if not 0 < port < 65536:
        raise ValueError(f"port: {port} is not a TCP port (1-65535)")
    return f"https://{host}" if port == 443 else f"https://{host}:{port}"


def in_cluster_names(namespace, service="openbao"):
    """The names the OpenBao pods and in-cluster clients use (Services, raft peers of the headless Service)."""
    names = [service, f"{service}.{namespace}.svc", f"{service}.{namespace}.svc.cluster.local"]
    internal = f"*.{service}-internal"
    names += [internal, f"{internal}.{namespace}.svc", f"{internal}.{namespace}.svc.cluster.local"]
    return [*names, f"{service}-active.{namespace}.svc"]


def openbao_addresses(hostname, namespace, replicas, port=443):
    """Everything the controller path to OpenBao derives from its public host name.

    Returns ``addr`` (the active server through the gateway), ``members`` (one URL per raft member),
    ``member_hosts`` / ``member_services`` (one Service per pod), ``public_hosts`` (what the gateway serves),
    ``routes`` (the gateway's, for :func:`gateway_objects`), ``gateway_dns_names`` (the gateway certificate's names),
    ``dns_names`` / ``ip_addresses`` (OpenBao's own certificate: in-cluster names, loopback, public names).
    """
    host = check_hostname(hostname, "openbao_public_hostname")
    replicas = int(replicas)
    if replicas < 1:
        raise ValueError(f"openbao_replicas: {replicas} - OpenBao needs at least one server")
    members = [member_hostname(host, i) for i in range(replicas)]
    public = [host, *members]
    services = [f"openbao-member-{i}" for i in range(replicas)]
    routes = [{"name": "openbao", "host": host, "service": "openbao-active", "port": OPENBAO_PORT}]
    routes += [
        {"name": f"openbao-{i}", "host": members[i], "service": services[i], "port": OPENBAO_PORT}
        for i in range(replicas)
    ]
    return {
        "addr": https_url(host, port),
        "members": [https_url(name, port) for name in members],
        "member_hosts": members,
        "member_services": services,
        "public_hosts": public,
        "routes": routes,
        "gateway_dns_names": public,
        "dns_names": in_cluster_names(namespace) + public,
        "ip_addresses": ["127.0.0.1"],
    }


def url_host(url):
    """The host of a URL (``https://h:8200/x`` -> ``h``), or of a bare host name; IPv6 without brackets."""
    text = str(url or "").strip()
    if "://" not in text:
        text = "//" + text
    try:
        host = urlsplit(text).hostname
    except ValueError:
        host = None
    if not host:
        raise ValueError(f"{url!r} has no host name")
    return host.lower().rstrip(".")


def _ip(text):
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def dns_name_matches(pattern, host):
    """RFC 6125 6.4.3: ``pattern`` (a certificate DNS name, maybe ``*.x.y``) matches ``host``."""
    pattern = str(pattern).lower().rstrip(".")
    if not pattern.startswith("*."):
        return pattern == host
    suffix = pattern[1:]  # ".x.y"
    label = host[: -len(suffix)] if host.endswith(suffix) else ""
    return bool(label) and "." not in label and "*" not in suffix


def covers(url, dns_names=(), ip_addresses=()):
    """Whether a certificate with these SANs is valid for the host of ``url``."""
    host = url_host(url)
    address = _ip(host)
    if address is not None:
        return any(_ip(str(ip)) == address for ip in ip_addresses or ())
    return any(dns_name_matches(name, host) for name in dns_names or ())


def uncovered(urls, dns_names=(), ip_addresses=()):
    """The URLs (a string or a list) whose host no name of the certificate covers, in order."""
    if isinstance(urls, str):
        urls = [urls] if urls else []
    return [url for url in urls or [] if not covers(url, dns_names, ip_addresses)]


def _meta(name, namespace):
    return {"name": name, "namespace": namespace, "labels": dict(PART_OF)}


def _route(route):
    match = {"hosts": [route["host"]], "paths": [route.get("path", "/*")]}
    backend = {"serviceName": route["service"], "servicePort": route["port"]}
    return {"name": route.get("name") or route["host"].split(".", 1)[0], "match": match, "backends": [backend]}


def gateway_objects(spec):
    """The cert-manager Certificate, ApisixTls, ApisixRoute (and ApisixUpstream for TLS backends) of a service.

    ``spec``: ``{name, namespace, routes: [{host, service, port, name?, path?}], backend_scheme: http|https}``.
    Every route's host is in the certificate the gateway serves for it (``tests/unit/test_gateway_paths.py``).
    """
    name, namespace = spec["name"], spec["namespace"]
    routes = spec.get("routes") or []
    if not routes:
        raise ValueError(f"{name}: a published service needs at least one route")
    hosts = [check_hostname(r["host"], f"{name} route host") for r in routes]
    routes = [dict(r, host=h) for r, h in zip(routes, hosts)]
    secret = f"{name}-gateway-tls"
    certificate = {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": _meta(secret, namespace),
        "spec": {
            "secretName": secret,
            "duration": "2160h",
            "renewBefore": "360h",
            "commonName": hosts[0],
            "dnsNames": sorted(set(hosts), key=hosts.index),
            "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
            "usages": ["server auth"],
            "issuerRef": dict(ISSUER),
        },
    }
    tls = {
        "apiVersion": "apisix.apache.org/v2",
        "kind": "ApisixTls",
        "metadata": _meta(name, namespace),
        "spec": {
            "ingressClassName": GATEWAY_CLASS,
            "hosts": certificate["spec"]["dnsNames"],
            "secret": {"name": secret, "namespace": namespace},
        },
    }
    route = {
        "apiVersion": "apisix.apache.org/v2",
        "kind": "ApisixRoute",
        "metadata": _meta(name, namespace),
        "spec": {"ingressClassName": GATEWAY_CLASS, "http": [_route(r) for r in routes]},
    }
    objects = [certificate, tls, route]
    if spec.get("backend_scheme", "http") == "https":
        # An ApisixUpstream carries the name of the Service it configures: TLS to each backend.
        for service in sorted({r["service"] for r in routes}):
            objects.append(
                {
                    "apiVersion": "apisix.apache.org/v2",
                    "kind": "ApisixUpstream",
                    "metadata": _meta(service, namespace),
                    "spec": {"ingressClassName": GATEWAY_CLASS, "scheme": "https"},
                }
            )
    return objects
