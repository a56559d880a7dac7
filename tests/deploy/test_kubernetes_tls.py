"""deploy/kubernetes/overlays/tls, rendered by kustomize: nginx's TLS switch file and the
user's kubernetes.io/tls Secret in nginx's config volume, port 443, and nginx -t on the
result. No cluster runs here (docs/kubernetes.md)."""

import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, dev_certs
from tests.deploy.manifests import Manifests, nginx_t, port, rendered

pytestmark = pytest.mark.config


TLS = "overlays/tls"


def tls_volume(manifests: Manifests) -> dict[str, Any]:
    [conf] = [v for v in manifests.pod("nginx")["volumes"] if v["name"] == "conf"]
    return conf  # type: ignore[no-any-return]


def write_projected(manifests: Manifests, secrets: dict[str, dict[str, str]], dest: Path) -> Path:
    """The TLS overlay's projected conf volume as the kubelet lays it out: the ConfigMap's
    items and the Secrets' (`secrets`: name -> its data), each at its path under dest."""
    for source in tls_volume(manifests)["projected"]["sources"]:
        if "configMap" in source:
            data = manifests.configmap(source["configMap"]["name"].rsplit("-", 1)[0])["data"]
        else:
            data = secrets[source["secret"]["name"]]
        for item in next(iter(source.values()))["items"]:
            path = dest / item["path"]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(data[item["key"]])
    return dest


def test_the_tls_overlay_mounts_tls_on_conf_and_the_secret_where_it_reads() -> None:
    """overlays/tls: "nginx/tls-on.conf as tls.conf and the certificate from a kubernetes.io/tls
    Secret", in the one projected volume at /etc/nginx; the Secret is the user's, not shipped."""
    manifests = rendered(TLS)
    sources = tls_volume(manifests)["projected"]["sources"]
    [config] = [s["configMap"] for s in sources if "configMap" in s]
    [secret] = [s["secret"] for s in sources if "secret" in s]
    items = {i["path"]: i["key"] for i in config["items"]}
    assert items["tls.conf"] == "tls-on.conf", "NGINX_TLS=on, as compose mounts it"
    base_items = {i["path"]: i["key"] for i in write_items(rendered())}
    assert items == base_items | {"tls.conf": "tls-on.conf"}, "every other file as in the base"
    assert secret["name"] == "pycluster-tls"
    # The two keys of a kubernetes.io/tls Secret (kubectl create secret tls, cert-manager).
    files = {i["key"]: i["path"] for i in secret["items"]}
    assert files == {"tls.crt": "certs/fullchain.pem", "tls.key": "certs/privkey.pem"}
    tls_on = (ROOT / "nginx" / "tls-on.conf").read_text()
    assert f"ssl_certificate {files['tls.crt']};" in tls_on and f"ssl_certificate_key {files['tls.key']};" in tls_on
    assert all(i["mode"] == 0o440 for i in secret["items"]), "readable by nginx's group alone"
    pod = manifests.pod("nginx")
    assert pod["securityContext"]["fsGroup"] == pod["securityContext"]["runAsGroup"] == 101
    mounts = {m["mountPath"]: m for m in manifests.container("nginx")["volumeMounts"]}
    assert mounts["/etc/nginx"] == {"name": "conf", "mountPath": "/etc/nginx", "readOnly": True}
    assert not manifests.all("Secret"), "no key in the repository: the user makes the Secret"


def write_items(manifests: Manifests) -> list[dict[str, str]]:
    [conf] = [v for v in manifests.pod("nginx")["volumes"] if v["name"] == "conf"]
    return conf["configMap"]["items"]  # type: ignore[no-any-return]


def test_the_tls_overlay_serves_https_on_443_and_lets_it_in() -> None:
    """overlays/tls: "port 443 on the nginx Service (8443 in the pod)"; 80 stays; the probes
    stay on plain /nginx-health; the NetworkPolicy opens 8443 to all, as 8080."""
    manifests = rendered(TLS)
    box = manifests.container("nginx")
    listen = re.search(r"(?m)^listen (\d+) ssl", (ROOT / "nginx" / "tls-on.conf").read_text())
    assert listen and port(box, "https") == int(listen[1]) == 8443
    service = {p["name"]: p for p in manifests.get("Service", "nginx")["spec"]["ports"]}
    assert (service["https"]["port"], port(box, service["https"]["targetPort"])) == (443, 8443)
    assert (service["http"]["port"], port(box, service["http"]["targetPort"])) == (80, 8080)
    for probe in ("readinessProbe", "livenessProbe"):
        assert box[probe]["httpGet"] == rendered().container("nginx")[probe]["httpGet"], "plain /nginx-health"
    ingress = manifests.get("NetworkPolicy", "nginx")["spec"]["ingress"]
    assert ingress[0] == {"ports": [{"port": "http", "protocol": "TCP"}, {"port": "https", "protocol": "TCP"}]}
    assert ingress[1:] == rendered().get("NetworkPolicy", "nginx")["spec"]["ingress"][1:]


def test_nginx_accepts_the_rendered_tls_config(nginx_image: str, tmp_path: Path) -> None:
    """`nginx -t` on the TLS overlay's files as the kubelet lays them out, the Secret filled
    with a throwaway certificate (scripts/certs.sh), in the image the pods run, as their user."""
    certs = dev_certs(tmp_path / "certs")
    manifests = rendered(TLS)
    tls = {"tls.crt": (certs / "fullchain.pem").read_text(), "tls.key": (certs / "privkey.pem").read_text()}
    conf = write_projected(manifests, {"pycluster-tls": tls}, tmp_path / "nginx")
    for path in (conf, conf / "certs"):
        path.chmod(0o755)
    for path in conf.rglob("*"):
        if path.is_file():
            path.chmod(0o644)  # fsGroup 101 and mode 0440 on a cluster; world-readable here
    assert "listen 8443 ssl" in (conf / "tls.conf").read_text()
    check = nginx_t(manifests, conf, nginx_image)
    assert check.returncode == 0, check.stderr
    assert "test is successful" in check.stderr
