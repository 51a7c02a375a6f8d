"""The one narrow door to the Kubernetes API.

Everything eidos does with a cluster goes through :class:`Cluster`: load a kubeconfig (path,
``KUBECONFIG`` list, ``~/.kube/config``, ``--context``) or the in-cluster service account,
read the server version, nodes, pods and custom objects, get/put ConfigMaps, create and
delete the agent's objects, read a pod's log.

Design choices, and why:

* the ``kubernetes`` package is imported inside :meth:`Cluster.connect` only; it costs about
  a quarter second and most commands never talk to a cluster;
* responses are read as plain JSON (``_preload_content=False``) rather than the client's
  typed models: they are faster on large pod lists, and an API server (or emulator) that
  omits an optional field cannot make deserialisation fail;
* every API error becomes an :class:`~eidos.errors.EnvironmentFailure` subclass whose
  message is built from the HTTP status and the server's one-line ``message`` only. Raw
  exception text (headers, bodies) and the client configuration are never printed, so
  tokens, client keys and passwords from a kubeconfig cannot reach logs or reports.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from eidos.errors import EnvironmentFailure, InputError

DEFAULT_TIMEOUT = 30.0


class ClusterError(EnvironmentFailure):
    """An API call failed; ``status`` is the HTTP status (0 when no answer came back)."""

    def __init__(self, message: str, status: int = 0, *, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.status = status


class NotFound(ClusterError):
    pass


class Conflict(ClusterError):
    pass


class Forbidden(ClusterError):
    pass


class Unreachable(ClusterError):
    """No usable answer from the API server (refused, DNS, TLS, timeout)."""


class NoCluster(EnvironmentFailure):
    """No kubeconfig and not running inside a cluster."""


def _kubeconfig_candidates(kubeconfig: str | None, env) -> list[str]:
    if kubeconfig:
        return [kubeconfig]
    if env.get("KUBECONFIG"):
        return [p for p in env["KUBECONFIG"].split(os.pathsep) if p]
    try:
        return [str(Path("~/.kube/config").expanduser())]
    except RuntimeError:  # no HOME and no passwd entry: the agent's uid in a bare image
        return []


def config_available(kubeconfig: str | None = None, env=None) -> bool:
    """Cheap check (no client import): is there any cluster configuration to try?"""
    env = os.environ if env is None else env
    if any(Path(p).expanduser().is_file() for p in _kubeconfig_candidates(kubeconfig, env)):
        return True
    return bool(env.get("KUBERNETES_SERVICE_HOST")) and not kubeconfig


class Cluster:
    """A connected API client plus the few operations eidos needs."""

    def __init__(self, api_client, description: str, timeout: float = DEFAULT_TIMEOUT):
        self._api = api_client
        self.description = description  # e.g. "context prod-eks" or "in-cluster"; no secrets
        self.timeout = timeout

    def __repr__(self) -> str:  # never show the configuration (it may hold credentials)
        return f"Cluster({self.description})"

    # ---- connecting ---------------------------------------------------------------------

    @classmethod
    def connect(
        cls,
        kubeconfig: str | None = None,
        context: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        env=None,
    ) -> Cluster:
        """Connect using ``kubeconfig`` (or ``KUBECONFIG``/``~/.kube/config``) and ``context``,
        else the in-cluster service account."""
        env = os.environ if env is None else env
        from kubernetes import client, config
        from kubernetes.config.config_exception import ConfigException

        cfg = client.Configuration()
        files = [str(Path(p).expanduser()) for p in _kubeconfig_candidates(kubeconfig, env)]
        existing = [p for p in files if Path(p).is_file()]
        if kubeconfig and not existing:
            raise InputError(f"{kubeconfig}: kubeconfig file not found")
        try:
            if existing:
                config.load_kube_config(
                    config_file=os.pathsep.join(existing),
                    context=context,
                    client_configuration=cfg,
                    persist_config=False,
                )
                description = f"context {context}" if context else "current context"
            elif env.get("KUBERNETES_SERVICE_HOST"):
                if context:
                    raise InputError("--context needs a kubeconfig; none was found")
                config.load_incluster_config(client_configuration=cfg)
                description = "in-cluster service account"
            else:
                raise NoCluster(
                    "no cluster configuration: no kubeconfig "
                    f"({', '.join(files)}) and not running inside a cluster"
                )
        except ConfigException as err:
            # these messages name files and keys, never credential values
            raise InputError(f"cannot load cluster configuration: {_one_line(str(err))}") from None
        except (OSError, ValueError, TypeError, KeyError) as err:
            raise InputError(
                f"cannot load cluster configuration: {type(err).__name__}: {_one_line(str(err))}"
            ) from None
        cfg.retries = 1
        return cls(client.ApiClient(cfg), description, timeout)

    def close(self) -> None:
        try:
            self._api.close()
        except Exception:  # closing a pool must never mask the real outcome
            pass

    # ---- plumbing -----------------------------------------------------------------------

    def _call(self, what: str, fn, *args, **kwargs) -> Any:
        """Call a client method, return parsed JSON, translate every failure."""
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        kwargs.setdefault("_preload_content", False)
        kwargs.setdefault("_request_timeout", (min(10.0, self.timeout), self.timeout))
        try:
            resp = fn(*args, **kwargs)
        except ApiException as err:
            raise _api_error(what, err) from None
        except HTTPError as err:
            raise Unreachable(f"{what}: API server unreachable ({type(err).__name__})") from None
        except OSError as err:
            raise Unreachable(f"{what}: API server unreachable ({err.strerror or err})") from None
        raw = resp.data
        if not raw:
            return {}
        try:
            return json.loads(raw)
        except ValueError:
            raise ClusterError(f"{what}: API server sent a non-JSON answer") from None

    def _core(self):
        from kubernetes import client

        return client.CoreV1Api(self._api)

    # ---- reads --------------------------------------------------------------------------

    def server_version(self) -> dict:
        from kubernetes import client

        return self._call("get server version", client.VersionApi(self._api).get_code)

    def list_nodes(self) -> list[dict]:
        return self._items(self._call("list nodes", self._core().list_node))

    def get_node(self, name: str) -> dict:
        return self._call(f"get node {name}", self._core().read_node, name)

    def list_pods(self, namespace: str | None = None, label_selector: str | None = None) -> list[dict]:
        kw = {"label_selector": label_selector} if label_selector else {}
        if namespace:
            items = self._items(
                self._call(
                    f"list pods in {namespace}",
                    self._core().list_namespaced_pod,
                    namespace,
                    **kw,
                )
            )
        else:
            items = self._items(self._call("list pods", self._core().list_pod_for_all_namespaces, **kw))
        if label_selector:  # some API emulators ignore selectors; filter again, cheaply
            items = [p for p in items if _labels_match(p, label_selector)]
        if namespace:
            items = [p for p in items if (p.get("metadata") or {}).get("namespace") in (None, namespace)]
        return items

    def list_cluster_objects(self, group: str, version: str, plural: str) -> list[dict]:
        from kubernetes import client

        api = client.CustomObjectsApi(self._api)
        return self._items(
            self._call(f"list {plural}.{group}", api.list_cluster_custom_object, group, version, plural)
        )

    def list_secrets_paged(
        self, label_selector: str, field_selector: str | None = None, *, page: int = 20
    ):
        """Secrets in every namespace matching ``label_selector`` (and ``field_selector``),
        yielded a page of ``page`` objects at a time so one response never holds more than
        ``page`` Secrets (each at most 1 MiB, the API server's object limit). The selectors
        are applied again here: an emulator or proxy that ignores them must not widen what
        is decoded."""
        kw: dict = {"label_selector": label_selector, "limit": page}
        if field_selector:
            kw["field_selector"] = field_selector
        token = None
        while True:
            if token:
                kw["_continue"] = token
            listing = self._call("list secrets", self._core().list_secret_for_all_namespaces, **kw)
            items = [i for i in self._items(listing) if _labels_match(i, label_selector)]
            if field_selector:
                items = [i for i in items if _fields_match(i, field_selector)]
            yield items
            token = ((listing.get("metadata") or {}).get("continue")) if isinstance(listing, dict) else None
            if not token:
                return

    def list_cluster_objects_any(self, group: str, versions: tuple[str, ...], plural: str) -> list[dict]:
        """Like :meth:`list_cluster_objects`, trying each API version in turn (newest first)
        until the server knows one; :class:`NotFound` when it knows none."""
        last: NotFound | None = None
        for version in versions:
            try:
                return self.list_cluster_objects(group, version, plural)
            except NotFound as err:
                last = err
        raise last if last is not None else NotFound(f"list {plural}.{group}: no version given", 404)

    def pod_log(self, namespace: str, name: str, tail_lines: int | None = 40,
                limit_bytes: int | None = None) -> str:
        """The pod's log: its last ``tail_lines`` lines, or all of it (``None``), at most
        ``limit_bytes`` bytes."""
        from kubernetes.client.exceptions import ApiException

        kw = {"tail_lines": tail_lines} if tail_lines is not None else {}
        if limit_bytes is not None:
            kw["limit_bytes"] = limit_bytes
        try:
            resp = self._core().read_namespaced_pod_log(
                name,
                namespace,
                **kw,
                _preload_content=False,
                _request_timeout=(min(10.0, self.timeout), self.timeout),
            )
        except ApiException as err:
            raise _api_error(f"read log of pod {namespace}/{name}", err) from None
        except Exception as err:  # a log is a courtesy; never let it mask the real failure
            raise Unreachable(f"read log of pod {namespace}/{name}: {type(err).__name__}") from None
        return resp.data.decode("utf-8", "replace")

    # ---- ConfigMaps ---------------------------------------------------------------------

    def get_configmap(self, namespace: str, name: str) -> dict:
        return self._call(
            f"get ConfigMap {namespace}/{name}",
            self._core().read_namespaced_config_map,
            name,
            namespace,
        )

    def put_configmap(self, namespace: str, name: str, data: dict, labels: dict | None = None) -> None:
        """Update the ConfigMap's data and labels, or create it if it does not exist.

        Patch comes first: the agent's Role grants ``patch`` on its one pre-created ConfigMap
        and no ``create`` at all (``create`` cannot be limited to a name), so the agent must
        never need to create. The patch merges labels, keeping the ownerReference and the run
        labels the CLI put on that ConfigMap."""
        patch = {"metadata": {"labels": dict(labels or {})}, "data": dict(data)}
        body = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace, "labels": dict(labels or {})},
            "data": dict(data),
        }
        for attempt in range(2):  # a concurrent writer can create it between our two calls
            try:
                self._call(
                    f"update ConfigMap {namespace}/{name}",
                    self._core().patch_namespaced_config_map,
                    name,
                    namespace,
                    patch,
                )
                return
            except NotFound:
                pass
            try:
                self._call(
                    f"create ConfigMap {namespace}/{name}",
                    self._core().create_namespaced_config_map,
                    namespace,
                    body,
                )
                return
            except Conflict:
                if attempt:
                    raise

    # ---- objects the agent creates ------------------------------------------------------

    def create(self, manifest: dict) -> dict:
        kind = manifest["kind"]
        name = manifest["metadata"]["name"]
        ns = manifest["metadata"].get("namespace")
        method, namespaced = self._method("create", kind)
        args = (ns, manifest) if namespaced else (manifest,)
        return self._call(f"create {kind} {_qual(ns, name)}", method, *args)

    def delete(self, kind: str, name: str, namespace: str | None = None) -> bool:
        """Delete an object; True if it was there. Jobs (and CronJobs) take their pods with them."""
        method, namespaced = self._method("delete", kind)
        args = (name, namespace) if namespaced else (name,)
        kw = {"propagation_policy": "Background"} if kind in ("Job", "CronJob") else {}
        try:
            self._call(f"delete {kind} {_qual(namespace, name)}", method, *args, **kw)
        except NotFound:
            return False
        return True

    def patch(self, kind: str, name: str, namespace: str | None, body: dict) -> dict:
        """Strategic-merge patch of one object (e.g. resuming the suspended agent Job)."""
        method, namespaced = self._method("patch", kind)
        args = (name, namespace, body) if namespaced else (name, body)
        return self._call(f"update {kind} {_qual(namespace, name)}", method, *args)

    def list_objects(self, kind: str, namespace: str, label_selector: str | None = None) -> list[dict]:
        """Objects of ``kind`` in ``namespace`` matching ``label_selector``. The selector is
        applied again here: deleting what an emulator (or a proxy) failed to filter would be
        the worst possible outcome of a sweep."""
        method, namespaced = self._method("list", kind)
        if not namespaced:
            raise ValueError(f"{kind} is not namespaced")
        kw = {"label_selector": label_selector} if label_selector else {}
        items = self._items(self._call(f"list {kind} in {namespace}", method, namespace, **kw))
        items = [i for i in items if (i.get("metadata") or {}).get("namespace") in (None, namespace)]
        if label_selector:
            items = [i for i in items if _labels_match(i, label_selector)]
        return items

    def read_job(self, namespace: str, name: str) -> dict:
        from kubernetes import client

        return self._call(
            f"get Job {namespace}/{name}",
            client.BatchV1Api(self._api).read_namespaced_job,
            name,
            namespace,
        )

    # ---- custom resources (eidos validate --fabric's MPIJob) ------------------------------

    def crd_exists(self, name: str) -> bool:
        """Is the CustomResourceDefinition ``name`` (``mpijobs.kubeflow.org``) installed?"""
        from kubernetes import client

        try:
            self._call(f"get CustomResourceDefinition {name}",
                       client.ApiextensionsV1Api(self._api).read_custom_resource_definition, name)
        except NotFound:
            return False
        return True

    def create_custom(self, group: str, version: str, plural: str, manifest: dict) -> dict:
        from kubernetes import client

        ns, name = manifest["metadata"]["namespace"], manifest["metadata"]["name"]
        return self._call(f"create {manifest['kind']} {ns}/{name}",
                          client.CustomObjectsApi(self._api).create_namespaced_custom_object,
                          group, version, ns, plural, manifest)

    def get_custom(self, group: str, version: str, plural: str, namespace: str, name: str) -> dict:
        from kubernetes import client

        return self._call(f"get {plural}.{group} {namespace}/{name}",
                          client.CustomObjectsApi(self._api).get_namespaced_custom_object,
                          group, version, namespace, plural, name)

    def delete_custom(self, group: str, version: str, plural: str, namespace: str, name: str) -> bool:
        from kubernetes import client

        try:
            self._call(f"delete {plural}.{group} {namespace}/{name}",
                       client.CustomObjectsApi(self._api).delete_namespaced_custom_object,
                       group, version, namespace, plural, name)
        except NotFound:
            return False
        return True

    def _method(self, verb: str, kind: str):
        from kubernetes import client

        core = client.CoreV1Api(self._api)
        rbac = client.RbacAuthorizationV1Api(self._api)
        batch = client.BatchV1Api(self._api)
        table = {
            "ServiceAccount": (core, "namespaced_service_account", True),
            "ConfigMap": (core, "namespaced_config_map", True),
            "Role": (rbac, "namespaced_role", True),
            "RoleBinding": (rbac, "namespaced_role_binding", True),
            "ClusterRole": (rbac, "cluster_role", False),
            "ClusterRoleBinding": (rbac, "cluster_role_binding", False),
            "Job": (batch, "namespaced_job", True),
            "CronJob": (batch, "namespaced_cron_job", True),  # eidos drift install
            "Namespace": (core, "namespace", False),  # eidos validate --fabric's run namespace
        }
        if kind not in table:
            raise ValueError(f"eidos does not manage {kind} objects")
        api, suffix, namespaced = table[kind]
        return getattr(api, f"{verb}_{suffix}"), namespaced

    @staticmethod
    def _items(listing: Any) -> list[dict]:
        items = listing.get("items") if isinstance(listing, dict) else None
        return [i for i in items or [] if isinstance(i, dict)]

    # ---- raw paths (eidos validate --conformance: discovery, any group's objects) --------

    def request(self, method: str, path: str, body: dict | None = None,
                query: dict | None = None, *, text: bool = False, content_type: str = "application/json") -> Any:
        """``method`` on an API path (``/apis/resource.k8s.io/v1``, a service proxy, a
        namespaced collection of any group), errors translated as :meth:`_call` does;
        parsed JSON, or the body as text when ``text``. The conformance checks need
        discovery documents and groups the typed APIs do not cover. A PATCH names its kind
        in ``content_type`` (``application/merge-patch+json``)."""
        from kubernetes.client.exceptions import ApiException

        what = f"{method} {path}"

        def send(**_ignored):
            params = self._api.param_serialize(
                method=method, resource_path=path, query_params=list((query or {}).items()),
                header_params={"Accept": "text/plain, */*" if text else "application/json",
                               **({"Content-Type": content_type} if body is not None else {})},
                body=body, auth_settings=["BearerToken"])
            resp = self._api.call_api(*params, _request_timeout=(min(10.0, self.timeout), self.timeout))
            resp.read()
            if not 200 <= resp.status < 300:
                raise ApiException(http_resp=resp)
            return resp

        if not text:
            return self._call(what, send)
        return self._call(what, lambda **kw: _TextResponse(send()))


class _TextResponse:
    """A response whose body :meth:`Cluster._call` hands back as JSON text of a string."""

    def __init__(self, resp):
        self.data = json.dumps(resp.data.decode("utf-8", "replace")).encode()


def _qual(ns: str | None, name: str) -> str:
    return f"{ns}/{name}" if ns else name


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _api_error(what: str, err) -> ClusterError:
    status = int(getattr(err, "status", 0) or 0)
    message = ""
    body = getattr(err, "body", None)
    if body:
        try:
            parsed = json.loads(body)
            if isinstance(parsed, dict) and isinstance(parsed.get("message"), str):
                message = _one_line(parsed["message"])
        except (ValueError, TypeError):
            pass
    reason = message or _one_line(getattr(err, "reason", "") or "") or "error"
    text = f"{what}: {reason} (HTTP {status})" if status else f"{what}: {reason}"
    if status == 404:
        return NotFound(text, status)
    if status == 409:
        return Conflict(text, status)
    if status in (401, 403):
        return Forbidden(text, status, hint="check your credentials and RBAC permissions")
    if status == 0:
        return Unreachable(text, status)
    return ClusterError(text, status)


def _labels_match(obj: dict, selector: str) -> bool:
    labels = ((obj.get("metadata") or {}).get("labels")) or {}
    for term in selector.split(","):
        key, sep, value = term.partition("=")
        if sep and labels.get(key.strip()) != value.strip().lstrip("="):
            return False
        if not sep and key.strip() not in labels:
            return False
    return True


def _fields_match(obj: dict, selector: str) -> bool:
    """The two Secret field selectors eidos uses (``type=``, ``metadata.namespace=``)."""
    for term in selector.split(","):
        key, _, value = term.partition("=")
        key, value = key.strip(), value.strip().lstrip("=")
        if key == "type" and obj.get("type") != value:
            return False
        if key == "metadata.namespace" and (obj.get("metadata") or {}).get("namespace") != value:
            return False
    return True
