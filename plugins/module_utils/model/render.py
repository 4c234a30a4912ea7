# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Pure rendering of a normalised model (of a normalised tenant) into the Kubernetes objects that serve it.

Per model, in the tenant's namespace:

* ServiceAccount ``model-<name>`` whose Secret ``model-<name>-storage`` (an ExternalSecret from the tenant's OpenBao
  KV, ``models/storage``) gives KServe's storage initializer read access to the artifact in object storage;
* InferenceService ``<name>`` (serving.kserve.io/v1beta1) bound by name to the platform's ClusterServingRuntime
  (``cloudforge-vllm`` on GPUs or ``cloudforge-ollama`` on CPU), with GPU resources, node selection and tolerations;
* one ApisixConsumer ``<name>-<consumer>`` per consumer (key-auth, the key synced from OpenBao
  ``models/<name>/<consumer>`` by an ExternalSecret of the same name plus ``-key``);
* ApisixRoute ``model-<name>``: the OpenAI-compatible paths under the route prefix, key authentication, only the
  model's consumers, requests-per-minute per consumer, tokens-per-minute, streamed answers, gateway metrics;
* PodMonitor ``model-<name>`` scraping the vLLM server's metrics (Ollama has no Prometheus endpoint).

Nothing here talks to a server; model_kube applies it and the unit tests read it directly.
"""

import copy

from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import models as tenant_models
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import names as tenant_names

MANAGED_BY = "cloudforge"
MODEL_LABEL = "cloudforge.io/model"
TENANT_LABEL = "cloudforge.io/tenant"
SECRET_STORE = "tenant-openbao"  # noqa: S105 - a SecretStore name, made by tenant_kubernetes (secret_sync) in every tenant namespace
STORAGE_KEY = "models/storage"  # KV path (in the tenant's mount) of the read-only object-storage credentials
PREDICTOR_PORT = 80

# Kinds this module manages, in apply order: {kind: (apiVersion, plural)}; all namespaced.
KINDS = {
    "ExternalSecret": ("external-secrets.io/v1", "externalsecrets"),
    "ServiceAccount": ("v1", "serviceaccounts"),
    "InferenceService": ("serving.kserve.io/v1beta1", "inferenceservices"),
    "ApisixConsumer": ("apisix.apache.org/v2", "apisixconsumers"),
    "ApisixRoute": ("apisix.apache.org/v2", "apisixroutes"),
    "PodMonitor": ("monitoring.coreos.com/v1", "podmonitors"),
}


def kind_path(kind, namespace, name=None):
    api, plural = KINDS[kind]
    base = f"/api/{api}" if "/" not in api else f"/apis/{api}"
    return f"{base}/namespaces/{namespace}/{plural}" + (f"/{name}" if name else "")


def consumer_key_path(model, consumer):
    """KV path (relative to the tenant's mount) of a consumer's API key."""
    return f"models/{model}/{consumer}"


def consumer_object_name(model, consumer):
    return tenant_names.model_consumer(model, consumer)


def apisix_consumer_name(namespace, model, consumer):
    """The consumer's name inside APISIX: the ingress controller names it <namespace>_<object name>."""
    return tenant_names.apisix_consumer(namespace, consumer_object_name(model, consumer))


def _meta(tenant, model, name, labels=None, annotations=None):
    meta = {
        "name": name,
        "namespace": tenant["names"]["namespace"],
        "labels": dict(
            {TENANT_LABEL: tenant["name"], MODEL_LABEL: model["name"], "app.kubernetes.io/managed-by": MANAGED_BY},
            **(labels or {}),
        ),
    }
    if annotations:
        meta["annotations"] = annotations
    return meta


def _obj(kind, metadata, **body):
    out = {"apiVersion": KINDS[kind][0], "kind": kind, "metadata": metadata}
    out.update(body)
    return out


def predictor_host(tenant, model):
    """In-cluster host of the model's predictor Service (KServe names it <isvc>-predictor)."""
    return "{}-predictor.{}.svc.cluster.local".format(model["name"], tenant["names"]["namespace"])


def storage(tenant, model, s3_endpoint, s3_region="us-east-1"):
    """ExternalSecret with the object-storage read credentials (KServe's S3 annotations) and the ServiceAccount."""
    name = "{}-storage".format(tenant_names.model_service_account(model["name"]))
    endpoint = str(s3_endpoint or "")
    host = endpoint.split("://", 1)[-1].rstrip("/")
    secret_annotations = {
        "serving.kserve.io/s3-endpoint": host,
        "serving.kserve.io/s3-usehttps": "1" if endpoint.startswith("https://") else "0",
        "serving.kserve.io/s3-region": s3_region,
        "serving.kserve.io/s3-useanoncredential": "false",
    }
    external = _obj(
        "ExternalSecret",
        _meta(tenant, model, name),
        spec={
            "refreshInterval": "1h",
            "secretStoreRef": {"kind": "SecretStore", "name": SECRET_STORE},
            "target": {
                "name": name,
                "creationPolicy": "Owner",
                "template": {"type": "Opaque", "metadata": {"annotations": secret_annotations}},
            },
            "data": [
                {"secretKey": "AWS_ACCESS_KEY_ID", "remoteRef": {"key": STORAGE_KEY, "property": "access_key"}},
                {"secretKey": "AWS_SECRET_ACCESS_KEY", "remoteRef": {"key": STORAGE_KEY, "property": "secret_key"}},
            ],
        },
    )
    account = _obj(
        "ServiceAccount",
        _meta(tenant, model, tenant_names.model_service_account(model["name"])),
        automountServiceAccountToken=False,
        secrets=[{"name": name}],
    )
    return [external, account]


def inference_service(tenant, model):
    """The KServe InferenceService (v1beta1) for a normalised model."""
    runtime = model["runtime_chosen"]
    gpu = model["resources"]["gpu"]
    placement = tenant_models.gpu_placement(gpu)
    requests = {"cpu": model["resources"]["cpu"], "memory": model["resources"]["memory"]}
    limits = dict(requests)
    for resource, count in placement["resources"].items():
        requests[resource] = count
        limits[resource] = count
    scaling = model["scaling"]
    predictor_model = {
        "modelFormat": {"name": model["format"]},
        "runtime": model["serving_runtime"],
        "storageUri": model["source"]["uri"],
        "resources": {"requests": requests, "limits": limits},
    }
    if runtime == "vllm":
        predictor_model["args"] = tenant_models.vllm_args(model)
    elif model["serving"].get("max_context_length"):
        predictor_model["env"] = [
            {"name": "OLLAMA_CONTEXT_LENGTH", "value": str(model["serving"]["max_context_length"])}
        ]
    predictor = {
        "serviceAccountName": tenant_names.model_service_account(model["name"]),
        "minReplicas": scaling["min_replicas"],
        "maxReplicas": scaling["max_replicas"],
        "scaleMetric": "concurrency",
        "scaleTarget": 4 if runtime == "vllm" else 1,
        "model": predictor_model,
    }
    if placement["node_selector"]:
        predictor["nodeSelector"] = placement["node_selector"]
    if placement["tolerations"]:
        predictor["tolerations"] = placement["tolerations"]
    annotations = {
        # Scale to zero needs Knative (KServe's Serverless mode); otherwise plain Deployments with an HPA.
        "serving.kserve.io/deploymentMode": "Serverless" if scaling["scale_to_zero"] else "RawDeployment",
        "cloudforge.io/model-version": model["version"],
        "cloudforge.io/runtime": runtime,
    }
    if runtime == "vllm":
        annotations.update(
            {"prometheus.io/scrape": "true", "prometheus.io/port": "8080", "prometheus.io/path": "/metrics"}
        )
    labels = {"cloudforge.io/runtime": runtime}
    return _obj(
        "InferenceService",
        _meta(tenant, model, model["name"], labels=labels, annotations=annotations),
        spec={"predictor": predictor},
    )


def consumers(tenant, model):
    """ApisixConsumers (key-auth from the synced Secret) and the ExternalSecrets that sync their keys.

    The Secret's ``key`` is ``Bearer <api key>`` (templated by ESO) and the route reads the ``Authorization``
    header, so OpenAI clients authenticate with their usual ``Authorization: Bearer <api key>``.
    """
    out = []
    for consumer in model["exposure"]["consumers"]:
        name = consumer_object_name(model["name"], consumer)
        secret = f"{name}-key"
        out.append(
            _obj(
                "ExternalSecret",
                _meta(tenant, model, secret, labels={"cloudforge.io/consumer": consumer}),
                spec={
                    "refreshInterval": "1h",
                    "secretStoreRef": {"kind": "SecretStore", "name": SECRET_STORE},
                    "target": {
                        "name": secret,
                        "creationPolicy": "Owner",
                        "template": {"type": "Opaque", "data": {"key": "Bearer {{ .key }}"}},
                    },
                    "data": [
                        {
                            "secretKey": "key",
                            "remoteRef": {"key": consumer_key_path(model["name"], consumer), "property": "key"},
                        }
                    ],
                },
            )
        )
        out.append(
            _obj(
                "ApisixConsumer",
                _meta(tenant, model, name, labels={"cloudforge.io/consumer": consumer}),
                spec={
                    "ingressClassName": "apisix",
                    "authParameter": {"keyAuth": {"secretRef": {"name": secret}}},
                },
            )
        )
    return out


def route_plugins(tenant, model, path):
    """The APISIX plugins of one OpenAI path of a model's route."""
    exposure = model["exposure"]
    ns = tenant["names"]["namespace"]
    whitelist = [apisix_consumer_name(ns, model["name"], c) for c in exposure["consumers"]]
    plugins = [
        {"name": "consumer-restriction", "enable": True, "config": {"type": "consumer_name", "whitelist": whitelist}},
        {
            "name": "limit-count",
            "enable": True,
            "config": {
                "count": exposure["requests_per_minute"],
                "time_window": 60,
                "key_type": "var",
                "key": "consumer_name",
                "rejected_code": 429,
                "policy": "local",
            },
        },
        {
            "name": "proxy-rewrite",
            "enable": True,
            "config": {"uri": path, "headers": {"remove": ["Authorization"]}},
        },
        {"name": "prometheus", "enable": True, "config": {"prefer_name": True}},
    ]
    if path in tenant_models.TOKEN_PATHS:
        # ai-proxy forwards to the predictor itself, reads the token usage of every answer (which ai-rate-limiting
        # and the gateway's LLM metrics count) and relays server-sent events chunk by chunk as they arrive, so
        # streamed answers are not held back by nginx's proxy buffering.
        plugins.append(
            {
                "name": "ai-proxy",
                "enable": True,
                "config": {
                    "provider": "openai-compatible",
                    "auth": {"header": {"X-CloudForge-Model": model["name"]}},
                    "options": {"model": model["name"]},
                    "override": {"endpoint": f"http://{predictor_host(tenant, model)}{path}"},
                    "timeout": 600000,
                    "logging": {"summaries": True},
                },
            }
        )
        if exposure["tokens_per_minute"]:
            plugins.append(
                {
                    "name": "ai-rate-limiting",
                    "enable": True,
                    "config": {
                        "limit": exposure["tokens_per_minute"],
                        "time_window": 60,
                        "limit_strategy": "total_tokens",
                        "rejected_code": 429,
                    },
                }
            )
        if not exposure["streaming"]:
            plugins.append(
                {
                    "name": "request-validation",
                    "enable": True,
                    "config": {
                        "body_schema": {
                            "type": "object",
                            "properties": {"stream": {"type": "boolean", "enum": [False]}},
                        },
                        "rejected_msg": "streaming is disabled for this model",
                    },
                }
            )
    return plugins


def route(tenant, model):
    """ApisixRoute ``model-<name>``: one http rule per OpenAI path under the model's prefix."""
    paths = tenant_models.route_paths(model["exposure"]["route_prefix"])
    rules = []
    for path, public in paths.items():
        rule = {
            "name": path.strip("/").replace("/", "-"),
            "match": {"paths": [public], "methods": ["GET"] if path == "/v1/models" else ["POST"]},
            "backends": [{"serviceName": "{}-predictor".format(model["name"]), "servicePort": PREDICTOR_PORT}],
            "authentication": {"enable": True, "type": "keyAuth", "keyAuth": {"header": "Authorization"}},
            "plugins": route_plugins(tenant, model, path),
            "timeout": {"connect": "10s", "read": "600s", "send": "600s"},
        }
        rules.append(rule)
    return _obj(
        "ApisixRoute",
        _meta(tenant, model, tenant_names.model_service_account(model["name"])),
        spec={"ingressClassName": "apisix", "http": rules},
    )


def pod_monitor(tenant, model):
    """Scrapes vLLM's Prometheus metrics (tokens, latency, queue) from the predictor pods."""
    if model["runtime_chosen"] != "vllm":
        return []
    return [
        _obj(
            "PodMonitor",
            _meta(tenant, model, tenant_names.model_service_account(model["name"])),
            spec={
                "selector": {"matchLabels": {"serving.kserve.io/inferenceservice": model["name"]}},
                "podMetricsEndpoints": [{"targetPort": 8080, "path": "/metrics", "interval": "30s"}],
            },
        )
    ]


def render(tenant, model, options=None):
    """Every object of a model, in apply order (secret sync and account first, the route last)."""
    options = options or {}
    objs = storage(tenant, model, options.get("s3_endpoint_url") or "", options.get("s3_region") or "us-east-1")
    objs.append(inference_service(tenant, model))
    objs += consumers(tenant, model)
    objs.append(route(tenant, model))
    if options.get("metrics", True):
        objs += pod_monitor(tenant, model)
    return [copy.deepcopy(o) for o in objs]
