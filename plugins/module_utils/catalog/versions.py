# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""The collection's pinned versions (versions.yml): load, validate and derive from it.

Plain Python (no Ansible imports) so the modules, the lookup plugin and the unit
tests share one implementation. Must stay Python 3.8 compatible: modules run it on
managed hosts.

What it derives from a versions document:

* ``list_charts`` / ``list_images`` - the pinned charts and images, filterable by layer;
* ``k3s_install_info`` - the k3s download URLs and checksums for a CPU architecture,
  refusing an artifact without a pinned checksum unless explicitly allowed;
* ``download_sources`` - every URL the hosts/platform layers download from, for the
  preflight reachability check;
* ``bundle_artifacts`` - the air-gap bundle: every file the install needs offline, with
  where it comes from and its checksum;
* ``upgrade_plan`` - what changes between two versions documents, refusing to skip a
  k3s minor release (k3s only supports upgrading one minor at a time).
"""

import re

try:
    import yaml

    HAS_YAML = True
except ImportError:  # pragma: no cover - PyYAML is absent on some managed hosts
    yaml = None
    HAS_YAML = False

SCHEMA_VERSION = 1
LAYERS = ("hosts", "platform", "models")
ARCHES = ("amd64", "arm64")
K3S_ARTIFACT_KINDS = ("binary", "images", "checksums")

_K3S_VERSION_RE = re.compile(r"^v(\d+)\.(\d+)\.(\d+)\+k3s(\d+)$")
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
_DNS_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_SEMVERISH_RE = re.compile(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?")


class VersionsError(ValueError):
    """A versions document is unreadable or breaks the schema; ``errors`` lists every problem."""

    def __init__(self, errors):
        self.errors = list(errors) if isinstance(errors, (list, tuple)) else [errors]
        super().__init__("; ".join(self.errors))


class UnpinnedArtifactError(VersionsError):
    """An artifact would be installed without a pinned checksum."""


class UpgradeRefusedError(VersionsError):
    """The requested upgrade is not a supported path."""


# --------------------------------------------------------------------------- loading


def load_file(path):
    """Read, parse and validate a versions file; returns the document."""
    if not HAS_YAML:
        raise VersionsError(f"PyYAML is required to read {path}")
    try:
        with open(path, "rb") as handle:
            document = yaml.safe_load(handle)
    except OSError as exc:
        raise VersionsError(f"cannot read versions file {path}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise VersionsError(f"versions file {path} is not valid YAML: {exc}") from exc
    return validate(document, source=path)


def validate(document, source="versions document"):
    """Return ``document`` if it matches the schema, else raise VersionsError naming every problem."""
    errors = []
    if not isinstance(document, dict):
        raise VersionsError(f"{source}: top level must be a mapping, got {type(document).__name__}")
    if document.get("schema_version") != SCHEMA_VERSION:
        errors.append(f"schema_version must be {SCHEMA_VERSION}, got {document.get('schema_version')!r}")
    unknown = sorted(set(document) - {"schema_version", "k3s", "charts", "images", "tools"})
    if unknown:
        errors.append("unknown top-level keys: {}".format(", ".join(unknown)))
    errors.extend(_validate_k3s(document.get("k3s")))
    charts = document.get("charts")
    errors.extend(_validate_charts(charts))
    errors.extend(_validate_images(document.get("images"), charts if isinstance(charts, dict) else {}))
    errors.extend(_validate_tools(document.get("tools")))
    if errors:
        raise VersionsError([f"{source}: {error}" for error in errors])
    return document


def _is_text(value):
    return isinstance(value, str) and value != ""


def _validate_sha256(where, value, allow_null=True):
    if value is None and allow_null:
        return []
    if not isinstance(value, str) or not _SHA256_RE.match(value):
        return [
            "{} must be 64 lowercase hex characters{}, got {!r}".format(where, " or null" if allow_null else "", value)
        ]
    return []


def _validate_k3s(k3s):
    if not isinstance(k3s, dict):
        return ["k3s must be a mapping"]
    errors = []
    version = k3s.get("version")
    if not isinstance(version, str) or not _K3S_VERSION_RE.match(version):
        errors.append(f"k3s.version must look like v1.36.3+k3s1, got {version!r}")
    base = k3s.get("download_base_url")
    if not (isinstance(base, str) and base.startswith("https://")):
        errors.append(f"k3s.download_base_url must be an https:// URL, got {base!r}")
    artifacts = k3s.get("artifacts")
    if not isinstance(artifacts, dict) or not artifacts:
        errors.append("k3s.artifacts must map at least one architecture to its files")
        return errors
    for arch, files in artifacts.items():
        where = f"k3s.artifacts.{arch}"
        if arch not in ARCHES:
            errors.append("{}: unknown architecture (known: {})".format(where, ", ".join(ARCHES)))
        if not isinstance(files, dict):
            errors.append(f"{where} must be a mapping")
            continue
        for kind in K3S_ARTIFACT_KINDS:
            entry = files.get(kind)
            if not isinstance(entry, dict) or not _is_text(entry.get("file")) or "/" in entry["file"]:
                errors.append(f"{where}.{kind}.file must be a file name")
                continue
            errors.extend(_validate_sha256(f"{where}.{kind}.sha256", entry.get("sha256")))
    return errors


def _validate_charts(charts):
    if not isinstance(charts, dict) or not charts:
        return ["charts must be a non-empty mapping"]
    errors = []
    for key, chart in charts.items():
        where = f"charts.{key}"
        if not _KEY_RE.match(str(key)):
            errors.append(f"{where}: key must be lowercase letters, digits and dashes")
        if not isinstance(chart, dict):
            errors.append(f"{where} must be a mapping")
            continue
        if chart.get("layer") not in LAYERS:
            errors.append("{}.layer must be one of {}, got {!r}".format(where, ", ".join(LAYERS), chart.get("layer")))
        repo = chart.get("repo")
        if not (isinstance(repo, str) and (repo.startswith("https://") or repo.startswith("oci://"))):
            errors.append(f"{where}.repo must be an https:// or oci:// URL, got {repo!r}")
        if not _is_text(chart.get("chart")):
            errors.append(f"{where}.chart must be the chart name")
        version = chart.get("version")
        if not _is_text(version):
            errors.append(f"{where}.version must be a string (quote it: YAML reads 1.20 as a number), got {version!r}")
        elif version in ("latest", "*") or not _SEMVERISH_RE.match(version):
            errors.append(f"{where}.version must be an exact release, got {version!r}")
        namespace = chart.get("namespace")
        if not (isinstance(namespace, str) and _DNS_LABEL_RE.match(namespace)):
            errors.append(f"{where}.namespace must be a DNS-1123 label, got {namespace!r}")
        errors.extend(_validate_sha256(f"{where}.sha256", chart.get("sha256")))
        unknown = sorted(set(chart) - {"layer", "repo", "chart", "version", "namespace", "sha256"})
        if unknown:
            errors.append("{}: unknown keys {}".format(where, ", ".join(unknown)))
    return errors


def _validate_tools(tools):
    """``tools`` is optional: binaries (version, url with {version}/{arch}, sha256 per arch or null) and images."""
    if tools is None:
        return []
    if not isinstance(tools, dict):
        return ["tools must be a mapping of tool name -> pin"]
    errors = []
    for name, tool in tools.items():
        where = f"tools.{name}"
        if not isinstance(tool, dict):
            errors.append(f"{where} must be a mapping")
            continue
        if "repository" in tool:
            unknown = sorted(set(tool) - {"repository", "tag", "digest"})
            if not _is_text(tool.get("repository")) or not _is_text(tool.get("tag")) or tool.get("tag") == "latest":
                errors.append(f"{where}: an image needs repository and a tag other than latest")
        else:
            unknown = sorted(set(tool) - {"version", "module", "url", "sha256"})
            if not _is_text(tool.get("version")):
                errors.append(f"{where}.version must be a non-empty string")
            url = tool.get("url")
            if not _is_text(url) or not url.startswith("https://") or "{version}" not in url or "{arch}" not in url:
                errors.append(f"{where}.url must be an https:// URL with {{version}} and {{arch}} placeholders")
            sums = tool.get("sha256")
            if not isinstance(sums, dict) or not sums:
                errors.append(f"{where}.sha256 must map each architecture to a sha256 (or null: not pinned yet)")
            else:
                for arch, value in sums.items():
                    errors.extend(_validate_sha256(f"{where}.sha256.{arch}", value))
        if unknown:
            errors.append("{}: unknown keys {}".format(where, ", ".join(unknown)))
    return errors


def _validate_images(images, charts):
    if not isinstance(images, dict) or not images:
        return ["images must be a non-empty mapping"]
    errors = []
    for key, image in images.items():
        where = f"images.{key}"
        if not _KEY_RE.match(str(key)):
            errors.append(f"{where}: key must be lowercase letters, digits and dashes")
        if not isinstance(image, dict):
            errors.append(f"{where} must be a mapping")
            continue
        if image.get("layer") not in LAYERS:
            errors.append("{}.layer must be one of {}, got {!r}".format(where, ", ".join(LAYERS), image.get("layer")))
        repository = image.get("repository")
        if not _is_text(repository) or "@" in repository or ":" in repository.split("/")[-1]:
            errors.append(f"{where}.repository must be a repository without tag or digest, got {repository!r}")
        tag = image.get("tag")
        if not _is_text(tag):
            errors.append(f"{where}.tag must be a string (quote it: YAML reads 1.37 as a number), got {tag!r}")
        elif tag == "latest":
            errors.append(f"{where}.tag must not be the floating 'latest'")
        digest = image.get("digest")
        if digest is not None and not (isinstance(digest, str) and _DIGEST_RE.match(digest)):
            errors.append(f"{where}.digest must be sha256:<64 hex> or absent, got {digest!r}")
        chart = image.get("chart")
        if chart is not None and chart not in charts:
            errors.append(f"{where}.chart {chart!r} is not a key of charts")
        unknown = sorted(set(image) - {"layer", "repository", "tag", "digest", "chart"})
        if unknown:
            errors.append("{}: unknown keys {}".format(where, ", ".join(unknown)))
    return errors


# --------------------------------------------------------------------------- listing


def _check_layers(layers):
    layers = list(LAYERS) if layers is None else list(layers)
    unknown = [layer for layer in layers if layer not in LAYERS]
    if unknown:
        raise VersionsError("unknown layers {} (known: {})".format(", ".join(unknown), ", ".join(LAYERS)))
    return layers


def list_charts(document, layers=None):
    """Charts as a list of dicts (``name`` added), in file order, limited to ``layers``."""
    layers = _check_layers(layers)
    return [dict(chart, name=key) for key, chart in document["charts"].items() if chart["layer"] in layers]


def image_ref(image):
    """``repository:tag`` plus ``@digest`` when pinned by digest."""
    ref = "{}:{}".format(image["repository"], image["tag"])
    if image.get("digest"):
        ref += "@" + image["digest"]
    return ref


def list_images(document, layers=None):
    """Images as a list of dicts (``name`` and full ``ref`` added), limited to ``layers``."""
    layers = _check_layers(layers)
    return [
        dict(image, name=key, ref=image_ref(image))
        for key, image in document["images"].items()
        if image["layer"] in layers
    ]


def k3s_minor(version):
    """``(major, minor)`` of a k3s version string such as ``v1.36.3+k3s1``."""
    return _parse_k3s(version)[:2]


def _parse_k3s(version):
    match = _K3S_VERSION_RE.match(version or "")
    if not match:
        raise VersionsError(f"not a k3s version: {version!r}")
    return tuple(int(part) for part in match.groups())


def _k3s_url(k3s, file_name):
    # GitHub release tags contain '+', which must be percent-encoded in the path.
    return "{}/{}/{}".format(k3s["download_base_url"].rstrip("/"), k3s["version"].replace("+", "%2B"), file_name)


def k3s_install_info(document, arch, allow_unpinned=False):
    """Download URLs and pinned checksums of the k3s binary and air-gap images for ``arch``.

    Raises UnpinnedArtifactError when the binary or image archive has no pinned sha256,
    unless ``allow_unpinned`` (an explicit, insecure override) is true.
    """
    k3s = document["k3s"]
    files = k3s["artifacts"].get(arch)
    if files is None:
        raise VersionsError(
            "versions.yml pins no k3s artifacts for architecture {!r} (pinned: {})".format(
                arch, ", ".join(sorted(k3s["artifacts"]))
            )
        )
    missing = [kind for kind in ("binary", "images") if not files[kind].get("sha256")]
    if missing and not allow_unpinned:
        raise UnpinnedArtifactError(
            "k3s {} for {}: {} has no pinned sha256 in versions.yml; copy it from {}, "
            "or set the insecure override cloudforge_allow_unpinned_artifacts=true".format(
                k3s["version"],
                arch,
                " and ".join(files[kind]["file"] for kind in missing),
                _k3s_url(k3s, files["checksums"]["file"]),
            )
        )
    return {
        "version": k3s["version"],
        "arch": arch,
        "binary_url": _k3s_url(k3s, files["binary"]["file"]),
        "binary_sha256": files["binary"].get("sha256"),
        "images_url": _k3s_url(k3s, files["images"]["file"]),
        "images_sha256": files["images"].get("sha256"),
        "checksums_url": _k3s_url(k3s, files["checksums"]["file"]),
        "unpinned": [files[kind]["file"] for kind in missing],
    }


def registry_of(repository):
    """The registry host serving ``repository`` (Docker Hub when the first part is not a host)."""
    first = repository.split("/", 1)[0]
    if "/" in repository and ("." in first or ":" in first or first == "localhost"):
        return "registry-1.docker.io" if first == "docker.io" else first
    return "registry-1.docker.io"


def chart_index_url(chart):
    """URL that proves a chart repository is reachable: index.yaml, or the OCI registry's /v2/."""
    repo = chart["repo"]
    if repo.startswith("oci://"):
        return "https://{}/v2/".format(repo[len("oci://") :].split("/", 1)[0])
    return repo.rstrip("/") + "/index.yaml"


def _summarise(kind, names, shown=3):
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return f"{kind} {', '.join(names[:shown])}{more}"


def download_sources(document, arches=("amd64",), layers=None):
    """Every distinct URL the install downloads from, with why it is needed.

    ``expect`` is ``success`` when the URL must answer 2xx/3xx (files, index.yaml), and
    ``any_response`` for registry API roots, which answer 401 to anonymous clients.
    A URL needed for several reasons (an OCI registry serving charts and images) is
    listed once, with every reason in ``purpose``.
    """
    layers = _check_layers(layers)
    sources = {}

    def add(url, purpose, expect="success"):
        if url in sources:
            sources[url]["purpose"] += "; " + purpose
        else:
            sources[url] = {"url": url, "purpose": purpose, "expect": expect}

    if "hosts" in layers:
        for arch in arches:
            info = k3s_install_info(document, arch, allow_unpinned=True)
            add(info["binary_url"], "k3s {} binary ({})".format(info["version"], arch))
            add(info["checksums_url"], "k3s {} checksums ({})".format(info["version"], arch))
    oci_charts = {}
    for chart in list_charts(document, layers):
        if chart["repo"].startswith("oci://"):
            oci_charts.setdefault(chart_index_url(chart), []).append(chart["name"])
        else:
            add(chart_index_url(chart), "Helm chart {} {}".format(chart["chart"], chart["version"]))
    for url, names in oci_charts.items():
        add(url, _summarise("OCI Helm charts", names), expect="any_response")
    registries = {}
    for image in list_images(document, layers):
        registries.setdefault(registry_of(image["repository"]), []).append(image["name"])
    for registry in sorted(registries):
        names = registries[registry]
        add(f"https://{registry}/v2/", _summarise(f"registry for {len(names)} images:", names), expect="any_response")
    return list(sources.values())


# --------------------------------------------------------------------------- air-gap bundle


def bundle_artifacts(document, arches=("amd64",), layers=None):
    """The files an air-gapped install needs, as dicts.

    Each artifact: ``name``, ``kind`` (file, chart or image), ``path`` (relative to the
    bundle directory), ``source`` (URL, ``oci://`` chart reference or image reference),
    ``sha256`` (pinned file checksum or None) and ``pinned`` (whether versions.yml fixes
    the content: a file checksum, or an image digest).
    """
    layers = _check_layers(layers)
    artifacts = []
    if "hosts" in layers:
        for arch in arches:
            info = k3s_install_info(document, arch, allow_unpinned=True)
            for kind in ("binary", "images"):
                url = info[f"{kind}_url"]
                sha = info[f"{kind}_sha256"]
                artifacts.append(
                    {
                        "name": f"k3s-{kind}-{arch}",
                        "kind": "file",
                        "path": "k3s/{}/{}".format(arch, url.rsplit("/", 1)[1]),
                        "source": url,
                        "sha256": sha,
                        "pinned": bool(sha),
                    }
                )
    for chart in list_charts(document, layers):
        if chart["repo"].startswith("oci://"):
            source = "{}/{}:{}".format(chart["repo"].rstrip("/"), chart["chart"], chart["version"])
        else:
            source = "{} {} {}".format(chart["repo"], chart["chart"], chart["version"])
        artifacts.append(
            {
                "name": "chart-{}".format(chart["name"]),
                "kind": "chart",
                "path": "charts/{}-{}.tgz".format(chart["chart"], chart["version"]),
                "source": source,
                "sha256": chart.get("sha256"),
                "pinned": bool(chart.get("sha256")),
            }
        )
    for image in list_images(document, layers):
        artifacts.append(
            {
                "name": "image-{}".format(image["name"]),
                "kind": "image",
                "path": "images/{}.tar".format(image["name"]),
                "source": image["ref"],
                "sha256": None,
                "pinned": bool(image.get("digest")),
            }
        )
    return artifacts


# --------------------------------------------------------------------------- upgrades


def _release_key(version):
    match = _SEMVERISH_RE.match(version)
    return tuple(int(part or 0) for part in match.groups()) if match else (0, 0, 0)


def _diff_section(old, new, describe):
    changes = []
    for key in sorted(set(old) | set(new)):
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        entry = {"name": key, "from": describe(before) if before else None, "to": describe(after) if after else None}
        entry["action"] = "add" if before is None else "remove" if after is None else "change"
        changes.append(entry)
    return changes


def upgrade_plan(current, target):
    """What an upgrade from ``current`` to ``target`` (two validated documents) changes, in order.

    Refuses (UpgradeRefusedError) a k3s downgrade and a jump over a k3s minor release:
    k3s and Kubernetes support upgrading one minor version at a time.
    """
    old_k3s, new_k3s = current["k3s"]["version"], target["k3s"]["version"]
    old_parts, new_parts = _parse_k3s(old_k3s), _parse_k3s(new_k3s)
    if new_parts < old_parts:
        raise UpgradeRefusedError(f"k3s {old_k3s} -> {new_k3s} is a downgrade; k3s does not support downgrades")
    if new_parts[0] != old_parts[0] or new_parts[1] - old_parts[1] > 1:
        raise UpgradeRefusedError(
            f"k3s {old_k3s} -> {new_k3s} skips a minor release; upgrade one minor at a time "
            f"(next: v{old_parts[0]}.{old_parts[1] + 1}.x)"
        )
    steps = []
    if new_parts != old_parts:
        steps.append(
            {
                "layer": "hosts",
                "what": "k3s",
                "from": old_k3s,
                "to": new_k3s,
                "how": "servers one at a time (etcd snapshot first), then agents",
            }
        )
    chart_changes = _diff_section(current["charts"], target["charts"], lambda chart: chart["version"])
    for change in chart_changes:
        layer = (target["charts"].get(change["name"]) or current["charts"][change["name"]])["layer"]
        change["layer"] = layer
        change["major"] = bool(
            change["action"] == "change" and _release_key(change["from"])[0] != _release_key(change["to"])[0]
        )
    order = {layer: index for index, layer in enumerate(LAYERS)}
    chart_changes.sort(key=lambda change: (order[change["layer"]], change["name"]))
    for change in chart_changes:
        steps.append(
            {
                "layer": change["layer"],
                "what": "chart {}".format(change["name"]),
                "from": change["from"],
                "to": change["to"],
                "how": {"add": "install", "remove": "uninstall", "change": "helm upgrade"}[change["action"]]
                + (" (major version: read the chart's upgrade notes)" if change["major"] else ""),
            }
        )
    return {
        "k3s": {"from": old_k3s, "to": new_k3s, "changed": old_k3s != new_k3s},
        "charts": chart_changes,
        "images": _diff_section(current["images"], target["images"], image_ref),
        "steps": steps,
    }
