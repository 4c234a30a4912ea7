# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""The model spec: the ``models:`` list of a tenant spec, validated strictly, plus the pure decisions about it.

A model is served for one tenant, so its spec lives in the tenant's file (``inventories/<env>/tenants/<name>.yml``,
key ``models``), next to the quotas it is checked against.  ``validate_models()`` is called by the tenant spec's
validation (so ``tenant.yml`` and ``model.yml`` agree on what is valid) and reports every problem at once, each as
``<file>: models[<i>].<field>: <problem>. Fix: <what to do>``.

The pure decisions live here too, shared by the filters and the modules: which runtime serves a model
(``choose_runtime``), which extended resources and node selection its GPUs need (``gpu_placement``), the gateway
paths (``route_paths``) and the vLLM arguments (``vllm_args``).  docs/models.md documents the schema.
"""

import re

from ansible_collections.cloudforge.platform.plugins.module_utils.catalog import gpu as gpu_catalog
from ansible_collections.cloudforge.platform.plugins.module_utils.common import fields
from ansible_collections.cloudforge.platform.plugins.module_utils.common import quantity as k8s_quantity
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import names as tenant_names

# The platform layer (issue #7) installs these ClusterServingRuntimes; models bind to them by name.
RUNTIMES = {
    "vllm": {"serving_runtime": "cloudforge-vllm", "formats": ("safetensors",), "gpu": True},
    "ollama": {"serving_runtime": "cloudforge-ollama", "formats": ("gguf",), "gpu": False},
}
FORMATS = ("safetensors", "gguf")
RUNTIME_CHOICES = ("auto", "vllm", "ollama")
DTYPES = ("auto", "bfloat16", "float16", "float32")
QUANTIZATIONS = ("awq", "gptq", "fp8", "bitsandbytes", "compressed-tensors")
# Object storage convention of the platform: bucket `models`, prefix `<tenant>/<model>/<version>/`.
ARTIFACT_BUCKET = tenant_names.ARTIFACT_BUCKET
MANIFEST_NAME = "cloudforge-manifest.json"
OPENAI_PATHS = ("/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/models")
# Paths whose answers carry token usage (and may stream): the token limit and the AI proxy apply to them.
TOKEN_PATHS = ("/v1/chat/completions", "/v1/completions")
MODEL_NAME_MAX = 40
CONSUMER_MAX = 20
VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
PREFIX_SEGMENT_RE = re.compile(r"^[a-z0-9]([-a-z0-9._]*[a-z0-9])?$")
MODEL_KEYS = ("name", "version", "source", "format", "runtime", "resources", "serving", "scaling", "exposure")
RESOURCE_KEYS = ("gpu", "cpu", "memory")
SERVING_KEYS = ("max_context_length", "dtype", "quantization", "tensor_parallel_size")
SCALING_KEYS = ("min_replicas", "max_replicas", "scale_to_zero")
EXPOSURE_KEYS = ("route_prefix", "consumers", "requests_per_minute", "tokens_per_minute", "streaming")
DEFAULT_RESOURCES = {"gpu": {"cpu": "4", "memory": "32Gi"}, "cpu": {"cpu": "2", "memory": "4Gi"}}


def artifact_prefix(tenant, model, version):
    """Key prefix of a model version's files in the `models` bucket (the platform's artifact convention)."""
    return "{}{}/{}/".format(tenant_names.s3(tenant)["models_prefix"], model, version)


def artifact_uri(tenant, model, version):
    return f"s3://{ARTIFACT_BUCKET}/{artifact_prefix(tenant, model, version)}"


def default_route_prefix(tenant, model):
    return "{}{}".format(tenant_names.gateway(tenant)["route_prefix"], model)


def route_paths(prefix):
    """The OpenAI-compatible paths a model answers under its prefix (``{path: gateway path}``)."""
    prefix = "/" + str(prefix or "").strip("/")
    return {path: prefix.rstrip("/") + path for path in OPENAI_PATHS}


def gpu_resource_name(mig_profile=None):
    """The extended resource a model's GPUs are counted in (same rule as the tenant quotas, catalog.gpu)."""
    return gpu_catalog.gpu_resource_name(None, mig_profile)


def gpu_placement(gpu):
    """Resource requests, node selector and tolerations for a model's ``resources.gpu`` ({count, product, mig_profile}).

    Returns ``{"resources": {name: count}, "node_selector": {...}, "tolerations": [...]}``; all empty for no GPU.
    The GPU operator labels nodes ``nvidia.com/gpu.product`` and the platform taints GPU nodes
    ``nvidia.com/gpu=present:NoSchedule``, so GPU pods carry a matching toleration and CPU pods never land there.
    """
    gpu = gpu or {}
    count = int(gpu.get("count") or 0)
    if not count:
        return {"resources": {}, "node_selector": {}, "tolerations": []}
    resource = gpu_resource_name(gpu.get("mig_profile"))
    selector = {}
    if gpu.get("product"):
        selector["nvidia.com/gpu.product"] = gpu_catalog.GPU_PRODUCTS[gpu["product"]]["label"]
    tolerations = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    return {"resources": {resource: str(count)}, "node_selector": selector, "tolerations": tolerations}


def choose_runtime(model, tenant_gpu_count):
    """(runtime, None) or (None, (field, problem, fix)): which runtime serves the model.

    ``auto``: vLLM (GPU) when the model asks for GPUs, is safetensors and the tenant has GPU quota; Ollama (CPU) for
    GGUF.  An explicit runtime must be able to serve the format (and vLLM needs GPUs, Ollama runs on CPU).
    """
    fmt = model.get("format")
    runtime = model.get("runtime") or "auto"
    gpus = int(((model.get("resources") or {}).get("gpu") or {}).get("count") or 0)
    if runtime == "auto":
        if fmt == "gguf":
            runtime = "ollama"
        elif fmt == "safetensors":
            if not gpus:
                return None, (
                    "resources.gpu.count",
                    "a safetensors model is served by vLLM, which needs at least one GPU",
                    "request GPUs (resources.gpu.count: 1) or provide the model as GGUF (format: gguf) for Ollama on CPU",
                )
            if not tenant_gpu_count:
                return None, (
                    "resources.gpu.count",
                    "the model asks for GPUs but the tenant has no GPU quota (quotas.gpu.count is 0)",
                    "raise the tenant's quotas.gpu.count or serve a GGUF build on CPU (format: gguf)",
                )
            runtime = "vllm"
        else:
            return None, ("format", f"unknown format {fmt!r}", "use one of {}".format(", ".join(FORMATS)))
    info = RUNTIMES.get(runtime)
    if info is None:
        return None, ("runtime", f"unknown runtime {runtime!r}", "use one of {}".format(", ".join(RUNTIME_CHOICES)))
    if fmt not in info["formats"]:
        other = [name for name, r in RUNTIMES.items() if fmt in r["formats"]]
        return None, (
            "runtime",
            f"runtime {runtime!r} ({info['serving_runtime']}) cannot serve format {fmt!r} (it serves {', '.join(info['formats'])})",
            "use runtime: {} (or auto) for {}, or provide the model as {}".format(
                other[0] if other else "auto", fmt, " or ".join(info["formats"])
            ),
        )
    if info["gpu"] and not gpus:
        return None, (
            "resources.gpu.count",
            "runtime 'vllm' needs at least one GPU",
            "set resources.gpu.count: 1 or more",
        )
    if not info["gpu"] and gpus:
        return None, (
            "resources.gpu.count",
            f"runtime {runtime!r} ({info['serving_runtime']}) runs on CPU, but {gpus} GPU(s) were requested",
            "set resources.gpu.count: 0, or serve a safetensors build with runtime vllm",
        )
    return runtime, None


def vllm_args(model):
    """Command-line arguments of vLLM's OpenAI-compatible server for a normalised model spec."""
    serving = model.get("serving") or {}
    args = [f"--served-model-name={model['name']}"]
    if serving.get("max_context_length"):
        args.append(f"--max-model-len={int(serving['max_context_length'])}")
    if serving.get("dtype") and serving["dtype"] != "auto":
        args.append(f"--dtype={serving['dtype']}")
    if serving.get("quantization"):
        args.append(f"--quantization={serving['quantization']}")
    tp = serving.get("tensor_parallel_size") or int(((model.get("resources") or {}).get("gpu") or {}).get("count") or 1)
    args.append(f"--tensor-parallel-size={int(tp)}")
    return args


# -- validation -------------------------------------------------------------------------------------------------
def _bool(check, value, field, default):
    if value is None:
        return default
    if not isinstance(value, bool):
        check.error(field, f"{value!r} is not true/false", "write true or false")
        return default
    return value


def _gpu(check, raw, field, tenant_gpu):
    if raw is None:
        return {"count": 0, "product": None, "mig_profile": None}
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = {"count": raw}
    raw = check.mapping(raw, field)
    check.unknown(raw, ("count", "product", "mig_profile"), field)
    count = check.count(raw.get("count", 1 if raw else 0), field + ".count", example="1")
    product = raw.get("product", tenant_gpu.get("product"))
    if product is not None:
        match = [p for p in gpu_catalog.GPU_PRODUCTS if p.lower() == str(product).lower()]
        if not match:
            check.error(
                field + ".product",
                f"unknown GPU product {product!r}",
                "{}use one of {}, or leave it out".format(
                    fields.suggest(str(product).upper(), list(gpu_catalog.GPU_PRODUCTS)),
                    ", ".join(gpu_catalog.GPU_PRODUCTS),
                ),
            )
            product = None
        else:
            product = match[0]
    mig = raw.get("mig_profile", tenant_gpu.get("mig_profile"))
    if mig is not None:
        mig = str(mig)
        known = gpu_catalog.GPU_PRODUCTS[product]["mig"] if product else gpu_catalog.MIG_PROFILES
        if mig not in known:
            check.error(
                field + ".mig_profile",
                "{!r} is not a MIG profile of {}".format(mig, f"the {product}" if product else "any known GPU"),
                "use one of {}".format(", ".join(known) if known else f"nothing: {product} has no MIG support"),
            )
            mig = None
    out = {"count": count or 0, "product": product, "mig_profile": mig}
    if count:
        if tenant_gpu.get("product") and product and product != tenant_gpu["product"]:
            check.error(
                field + ".product",
                f"{product} is not the tenant's GPU product ({tenant_gpu['product']}, quotas.gpu.product)",
                f"use product: {tenant_gpu['product']} or change the tenant's quotas.gpu.product",
            )
        granted = gpu_resource_name(tenant_gpu.get("mig_profile"))
        wanted = gpu_resource_name(mig)
        if wanted != granted:
            check.error(
                field + ".mig_profile",
                f"the model would use {wanted} but the tenant's quota grants {granted} (every other GPU resource is capped at 0)",
                "use the tenant's quotas.gpu.mig_profile ({}) or change the tenant's quota".format(
                    tenant_gpu.get("mig_profile") or "none: whole GPUs"
                ),
            )
        elif count > (tenant_gpu.get("count") or 0):
            check.error(
                field + ".count",
                f"{count} GPU(s) requested but the tenant's quotas.gpu.count is {tenant_gpu.get('count') or 0}",
                f"lower {field}.count to at most {tenant_gpu.get('count') or 0} or raise the tenant's quotas.gpu.count",
            )
    return out


def _identity(check, raw, field):
    """``(name, version, format, runtime)`` of a model entry, each None when missing or invalid."""
    if "name" not in raw:
        check.error(field + ".name", "missing", "add 'name: <model>' (lower-case letters, digits and '-')")
    name = check.dns_label(raw.get("name"), field + ".name", MODEL_NAME_MAX) if "name" in raw else None
    version = raw.get("version")
    if version is None:
        check.error(field + ".version", "missing", "add 'version: <version>', for example '1' or '2024-05'")
    elif not VERSION_RE.match(str(version)):
        check.error(
            field + ".version",
            f"{version!r} is not a valid version",
            "use letters, digits, '.', '_' and '-' (at most 63), starting with a letter or digit",
        )
        version = None
    else:
        version = str(version)
    fmt = raw.get("format")
    if fmt not in FORMATS:
        check.error(
            field + ".format",
            f"{fmt!r} is not a supported format" if fmt is not None else "missing",
            "use one of {}".format(", ".join(FORMATS)),
        )
        fmt = None
    runtime = raw.get("runtime", "auto")
    if runtime not in RUNTIME_CHOICES:
        check.error(
            field + ".runtime", f"unknown runtime {runtime!r}", "use one of {}".format(", ".join(RUNTIME_CHOICES))
        )
        runtime = None
    return name, version, fmt, runtime


def _source(check, source, field, tenant, name, version):
    """``{type, path, uri}``: where the model's files are (s3:// by the artifact convention, or a local path)."""
    expected = artifact_uri(tenant, name, version) if tenant and name and version else None
    out = {"type": None, "path": None, "uri": expected}
    if source is None:
        check.error(
            field + ".source",
            "missing",
            f"give the s3:// location ({expected or 's3://models/<tenant>/<model>/<version>/'}) or a local directory or archive to upload",
        )
    elif not isinstance(source, str) or not source.strip():
        check.error(field + ".source", f"{source!r} is not a location", "write an s3:// URI or a local path")
    elif source.startswith("s3://"):
        if expected and source.rstrip("/") + "/" != expected:
            check.error(
                field + ".source",
                f"{source!r} does not follow the platform's artifact convention",
                f"use {expected} (bucket 'models', prefix <tenant>/<model>/<version>/)",
            )
        out["type"] = "s3"
    elif "://" in source:
        check.error(
            field + ".source",
            f"{source!r}: only s3:// locations or local paths are supported",
            "upload the files to a local directory first, or put them in s3://models/...",
        )
    else:
        out.update(type="local", path=source)
    return out


def _resources(check, raw, field, quotas):
    """``{gpu, cpu, memory}`` of one replica, each within the tenant's quotas."""
    res_raw = check.mapping(raw, field + ".resources")
    check.unknown(res_raw, RESOURCE_KEYS, field + ".resources")
    gpu = _gpu(check, res_raw.get("gpu"), field + ".resources.gpu", quotas.get("gpu") or {})
    defaults = DEFAULT_RESOURCES["gpu" if gpu["count"] else "cpu"]
    resources = {"gpu": gpu}
    for key, example in (("cpu", "4"), ("memory", "16Gi")):
        value = check.quantity(res_raw.get(key, defaults[key]), f"{field}.resources.{key}", example, allow_zero=False)
        resources[key] = value
        if value and quotas.get(key) and k8s_quantity.compare(value, quotas[key]) > 0:
            check.error(
                f"{field}.resources.{key}",
                f"{value} is above the tenant's quotas.{key} ({quotas[key]}), so no replica would fit",
                f"lower {field}.resources.{key} or raise the tenant's quotas.{key}",
            )
    return resources


def _serving(check, raw, field, gpu_count):
    """``{max_context_length, dtype, quantization, tensor_parallel_size}`` (the vLLM options)."""
    serving_raw = check.mapping(raw, field + ".serving")
    check.unknown(serving_raw, SERVING_KEYS, field + ".serving")
    serving = {"max_context_length": None, "dtype": "auto", "quantization": None, "tensor_parallel_size": None}
    if serving_raw.get("max_context_length") is not None:
        serving["max_context_length"] = check.count(
            serving_raw["max_context_length"], field + ".serving.max_context_length", minimum=128, example="8192"
        )
    if "dtype" in serving_raw:
        if serving_raw["dtype"] not in DTYPES:
            check.error(
                field + ".serving.dtype",
                f"unknown dtype {serving_raw['dtype']!r}",
                "use one of {}".format(", ".join(DTYPES)),
            )
        else:
            serving["dtype"] = serving_raw["dtype"]
    if serving_raw.get("quantization") is not None:
        if serving_raw["quantization"] not in QUANTIZATIONS:
            check.error(
                field + ".serving.quantization",
                f"unknown quantization {serving_raw['quantization']!r}",
                "use one of {} or leave it out".format(", ".join(QUANTIZATIONS)),
            )
        else:
            serving["quantization"] = serving_raw["quantization"]
    if serving_raw.get("tensor_parallel_size") is not None:
        tp = check.count(
            serving_raw["tensor_parallel_size"], field + ".serving.tensor_parallel_size", minimum=1, example="2"
        )
        if tp and gpu_count and tp != gpu_count:
            check.error(
                field + ".serving.tensor_parallel_size",
                f"{tp} does not match resources.gpu.count ({gpu_count}): vLLM shards the model over every GPU of a replica",
                f"set tensor_parallel_size: {gpu_count} or leave it out",
            )
        serving["tensor_parallel_size"] = tp
    return serving


def _scaling(check, raw, field, gpu_count, quotas):
    """``{min_replicas, max_replicas, scale_to_zero}``, consistent with each other and the tenant's GPU quota."""
    scaling_raw = check.mapping(raw, field + ".scaling")
    check.unknown(scaling_raw, SCALING_KEYS, field + ".scaling")
    scale_to_zero = _bool(check, scaling_raw.get("scale_to_zero"), field + ".scaling.scale_to_zero", False)
    min_r = check.count(scaling_raw.get("min_replicas", 0 if scale_to_zero else 1), field + ".scaling.min_replicas")
    max_r = check.count(scaling_raw.get("max_replicas", max(min_r or 1, 1)), field + ".scaling.max_replicas", minimum=1)
    if min_r is not None and max_r is not None and min_r > max_r:
        check.error(
            field + ".scaling.min_replicas",
            f"{min_r} is above scaling.max_replicas ({max_r})",
            "lower min_replicas or raise max_replicas",
        )
    if scale_to_zero and min_r:
        check.error(
            field + ".scaling.min_replicas",
            f"{min_r} contradicts scale_to_zero: true",
            "set min_replicas: 0 (or leave it out) with scale_to_zero, or set scale_to_zero: false",
        )
    if not scale_to_zero and min_r == 0:
        check.error(
            field + ".scaling.min_replicas",
            "0 replicas without scale_to_zero would never serve",
            "set scale_to_zero: true, or min_replicas: 1 or more",
        )
    if gpu_count and max_r and quotas.get("gpu", {}).get("count") is not None:
        total = gpu_count * max(min_r or 0, 1)
        if total > (quotas["gpu"].get("count") or 0) and gpu_count <= (quotas["gpu"].get("count") or 0):
            check.error(
                field + ".scaling.min_replicas",
                f"{min_r} replicas x {gpu_count} GPU(s) = {total}, above the tenant's quotas.gpu.count ({quotas['gpu']['count']})",
                "lower min_replicas or raise the tenant's quotas.gpu.count",
            )
    return {"min_replicas": min_r, "max_replicas": max_r, "scale_to_zero": scale_to_zero}


def _route_prefix(check, exp_raw, field, tenant, name):
    """The model's gateway path prefix (``/<tenant>/<name>`` by default), or None when invalid."""
    prefix = exp_raw.get("route_prefix", default_route_prefix(tenant, name) if tenant and name else None)
    if prefix is None:
        return None
    segments = str(prefix).strip("/").split("/") if isinstance(prefix, str) else [None]
    if (
        not isinstance(prefix, str)
        or not prefix.startswith("/")
        or not all(isinstance(s, str) and PREFIX_SEGMENT_RE.match(s) for s in segments)
    ):
        check.error(
            field + ".exposure.route_prefix",
            f"{prefix!r} is not a path prefix",
            f"write it as /{tenant}/<name>: lower-case segments of letters, digits, '-', '.' and '_'",
        )
        return None
    if tenant and segments[0] != tenant:
        check.error(
            field + ".exposure.route_prefix",
            f"{prefix!r} is outside the tenant's prefix /{tenant}/",
            f"start it with /{tenant}/, e.g. {default_route_prefix(tenant, name or 'model')}",
        )
        return None
    if "v1" in segments:
        check.error(
            field + ".exposure.route_prefix",
            f"{prefix!r} contains 'v1', which the OpenAI paths add themselves",
            f"leave it out, e.g. {default_route_prefix(tenant, name or 'model')}",
        )
        return None
    return "/" + "/".join(segments)


def _consumers(check, exp_raw, field):
    """The consumer names (each gets its own API key): at least one, none twice."""
    consumers = []
    raw_consumers = exp_raw.get("consumers", ["default"])
    for j, consumer in enumerate(check.sequence(raw_consumers, field + ".exposure.consumers")):
        if isinstance(consumer, dict):
            check.unknown(consumer, ("name",), f"{field}.exposure.consumers[{j}]")
            consumer = consumer.get("name")
            cfield = f"{field}.exposure.consumers[{j}].name"
        else:
            cfield = f"{field}.exposure.consumers[{j}]"
        value = check.dns_label(consumer, cfield, CONSUMER_MAX)
        if value in consumers:
            check.error(cfield, f"{value!r} appears twice", "list each consumer once")
        elif value:
            consumers.append(value)
    if not consumers and isinstance(raw_consumers, list):
        check.error(
            field + ".exposure.consumers",
            "no consumer: nobody could call the model",
            "list at least one consumer name (each gets its own API key), e.g. [app]",
        )
    return consumers


def _rate_limits(check, exp_raw, field, gateway):
    """``(requests_per_minute, tokens_per_minute)``, each at most the tenant's gateway limit."""
    rpm_default = gateway.get("requests_per_minute") or 600
    tpm_default = gateway.get("tokens_per_minute")
    rpm = check.count(
        exp_raw.get("requests_per_minute", rpm_default),
        field + ".exposure.requests_per_minute",
        minimum=1,
        example="600",
    )
    tpm = check.count(
        exp_raw.get("tokens_per_minute", tpm_default if tpm_default is not None else 100000),
        field + ".exposure.tokens_per_minute",
        example="100000",
    )
    if rpm and gateway.get("requests_per_minute") and rpm > gateway["requests_per_minute"]:
        check.error(
            field + ".exposure.requests_per_minute",
            f"{rpm} is above the tenant's gateway.requests_per_minute ({gateway['requests_per_minute']})",
            f"lower it to at most {gateway['requests_per_minute']} or raise the tenant's limit",
        )
    if tpm and gateway.get("tokens_per_minute") and tpm > gateway["tokens_per_minute"]:
        check.error(
            field + ".exposure.tokens_per_minute",
            f"{tpm} is above the tenant's gateway.tokens_per_minute ({gateway['tokens_per_minute']})",
            f"lower it to at most {gateway['tokens_per_minute']} or raise the tenant's limit",
        )
    return rpm, tpm


def _exposure(check, raw, field, tenant, name, gateway):
    """``{route_prefix, consumers, requests_per_minute, tokens_per_minute, streaming}``: how the gateway serves it."""
    exp_raw = check.mapping(raw, field + ".exposure")
    check.unknown(exp_raw, EXPOSURE_KEYS, field + ".exposure")
    prefix = _route_prefix(check, exp_raw, field, tenant, name)
    consumers = _consumers(check, exp_raw, field)
    rpm, tpm = _rate_limits(check, exp_raw, field, gateway)
    streaming = _bool(check, exp_raw.get("streaming"), field + ".exposure.streaming", True)
    return {
        "route_prefix": prefix,
        "consumers": consumers,
        "requests_per_minute": rpm,
        "tokens_per_minute": tpm,
        "streaming": streaming,
    }


def _runtime_choice(check, spec, field, quotas):
    """Add ``runtime_chosen`` and ``serving_runtime`` to ``spec``, or report why no runtime can serve it."""
    if not (spec["format"] and spec["runtime"] and spec["resources"]["gpu"]["count"] is not None):
        return
    chosen, problem = choose_runtime(spec, (quotas.get("gpu") or {}).get("count") or 0)
    if problem:
        check.error(f"{field}.{problem[0]}", problem[1], problem[2])
    else:
        spec["runtime_chosen"] = chosen
        spec["serving_runtime"] = RUNTIMES[chosen]["serving_runtime"]
    if chosen == "ollama":
        serving = spec["serving"]
        for key in ("quantization", "tensor_parallel_size"):
            if serving[key] is not None:
                check.error(
                    f"{field}.serving.{key}",
                    "is a vLLM option; Ollama reads it from the GGUF file",
                    "remove it (or serve a safetensors build with vLLM)",
                )
        if serving["dtype"] != "auto":
            check.error(field + ".serving.dtype", "is a vLLM option; Ollama reads it from the GGUF file", "remove it")


def _model(check, raw, field, tenant, quotas, gateway):
    """The normalised spec of one model entry, section by section (errors in the order the sections come)."""
    raw = check.mapping(raw, field)
    check.unknown(raw, MODEL_KEYS, field)
    name, version, fmt, runtime = _identity(check, raw, field)
    source = _source(check, raw.get("source"), field, tenant, name, version)
    resources = _resources(check, raw.get("resources"), field, quotas)
    serving = _serving(check, raw.get("serving"), field, resources["gpu"]["count"])
    scaling = _scaling(check, raw.get("scaling"), field, resources["gpu"]["count"], quotas)
    exposure = _exposure(check, raw.get("exposure"), field, tenant, name, gateway)
    spec = {
        "name": name,
        "version": version,
        "source": source,
        "format": fmt,
        "runtime": runtime,
        "resources": resources,
        "serving": serving,
        "scaling": scaling,
        "exposure": exposure,
    }
    _runtime_choice(check, spec, field, quotas)
    return spec


def validate_models(check, raw, tenant, quotas, gateway):
    """The normalised ``models`` list of a tenant (errors go to ``check``, the tenant spec's checker)."""
    out = []
    for i, model in enumerate(check.sequence(raw, "models")):
        entry = _model(check, model, f"models[{i}]", tenant, quotas or {}, gateway or {})
        entry["field"] = f"models[{i}]"
        out.append(entry)
    seen, prefixes = set(), {}
    for i, model in enumerate(out):
        if model["name"] in seen and model["name"]:
            check.error(f"models[{i}].name", f"{model['name']!r} appears twice", "give each model its own name")
        seen.add(model["name"])
        prefix = model["exposure"]["route_prefix"]
        if prefix and prefix in prefixes:
            check.error(
                f"models[{i}].exposure.route_prefix",
                f"{prefix!r} is already the prefix of models[{prefixes[prefix]}]",
                "give each model its own prefix",
            )
        prefixes.setdefault(prefix, i)
    limit = (quotas or {}).get("max_models")
    if limit is not None and len(out) > limit:
        check.error(
            "models",
            f"{len(out)} models but quotas.max_models is {limit}",
            f"raise quotas.max_models to {len(out)} or remove models",
        )
    return out


def select(spec, model):
    """The normalised model ``model`` of a normalised tenant spec, or a ValueError naming what exists."""
    models = spec.get("models") or []
    for entry in models:
        if entry["name"] == model:
            return entry
    known = ", ".join(m["name"] for m in models) or "(none)"
    raise ValueError(
        f"{spec.get('source', spec['name'])}: models: tenant {spec['name']!r} has no model {model!r}. "
        f"Fix: add it to the tenant's models list or pick one of: {known}"
    )
