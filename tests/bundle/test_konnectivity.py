"""Konnectivity in the bundle: the proxy server and agent images are listed, intact, static amd64, at the
pinned release, and the binaries taken out of them tunnel an HTTP CONNECT from the apiserver's side (a
UDS) through an agent to a loopback HTTP server, as the edge mode will use them. No cluster needed."""

import hashlib
import http.server
import json
import secrets
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest

from bundlelib import REPO, run, verified_image
from konnectivitylib import LOOPBACK, elf_facts, free_ports, http_connect, http_status, make_pki, stop, wait_for

VERSIONS = json.loads((REPO / "bundle" / "versions" / "v1.34.12.json").read_text())
KNP = VERSIONS["konnectivity"]["version"]
MODULE = "sigs.k8s.io/apiserver-network-proxy"
PT_INTERP, PT_DYNAMIC = 3, 2
# image -> (command in the module, a flag its --help must list)
IMAGES = {"proxy-server": ("server", "--uds-name"), "proxy-agent": ("agent", "--proxy-server-host")}


def image_name(meta, image):
    return "%s/%s/%s:%s" % (meta["image_repository"], VERSIONS["konnectivity"]["image_path"], image, KNP)


def test_konnectivity_images_are_listed_in_bundle_json_manifest_and_sums(bundle_dir, bundle_meta, image_manifest):
    names = {image: image_name(bundle_meta, image) for image in IMAGES}
    assert bundle_meta["konnectivity"] == {"version": KNP, "server_image": names["proxy-server"],
                                           "agent_image": names["proxy-agent"]}
    assert bundle_meta["versions"]["konnectivity"] == KNP
    assert set(names.values()) <= set(bundle_meta["images"])
    sums = dict(reversed(line.split("  ", 1)) for line in (bundle_dir / "SHA256SUMS").read_text().splitlines())
    for name in names.values():
        entry = next(i for i in image_manifest if i["name"] == name)
        archive = bundle_dir / entry["file"]
        assert archive.is_file() and archive.stat().st_size == entry["size"], entry
        assert hashlib.sha256(archive.read_bytes()).hexdigest() == sums[entry["file"]], entry["file"]


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_konnectivity_archive_verifies_and_is_configured_as_upstreams(bundle_dir, bundle_meta, image_manifest, image):
    entry = next(i for i in image_manifest if i["name"] == image_name(bundle_meta, image))
    desc, _, cfg = verified_image(bundle_dir / entry["file"])
    assert desc["digest"] == entry["digest"] and desc["annotations"]["io.containerd.image.name"] == entry["name"]
    assert desc["annotations"]["org.opencontainers.image.ref.name"] == KNP
    assert (cfg["architecture"], cfg["os"]) == ("amd64", "linux")
    # upstream's images: the binary at the root as the entrypoint, distroless' nonroot user
    assert cfg["config"]["Entrypoint"] == ["/" + image]
    assert cfg["config"]["User"] == "65532:65532"


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_konnectivity_binary_is_static_amd64_at_the_pinned_release(bundle_meta, image_rootfs, image):
    binary = image_rootfs(image_name(bundle_meta, image)) / image
    elf_class, machine, segments = elf_facts(binary)
    assert (elf_class, machine) == (2, 62), "not a 64-bit x86-64 ELF: %s" % binary
    assert not segments & {PT_INTERP, PT_DYNAMIC}, "dynamically linked: %s" % binary
    # neither command has a version flag: the Go build information names what it was built from
    info = run(["go", "version", "-m", binary]).stdout
    gosum = dict(((m, v), h) for m, v, h in (line.split() for line in
                                             (REPO / "bundle" / "go" / "konnectivity" / "go.sum").read_text().splitlines()))
    # the command's own module, then the client it is linked with, each with the hash go.sum pins
    for kind, mod in (("mod", MODULE), ("dep", MODULE + "/konnectivity-client")):
        assert "\t%s\t%s\t%s\t%s\n" % (kind, mod, KNP, gosum[mod, KNP]) in info, info
    assert "\tpath\t%s/cmd/%s\n" % (MODULE, IMAGES[image][0]) in info, info
    for setting in ("CGO_ENABLED=0", "GOARCH=amd64", "GOOS=linux"):
        assert "\tbuild\t%s\n" % setting in info, info
    res = run(["chroot", binary.parent, "/" + image, "--help"], timeout=30)
    assert IMAGES[image][1] in res.stdout, res.stdout


class _Target(http.server.BaseHTTPRequestHandler):
    token = ""
    seen = []

    def do_GET(self):
        self.seen.append(self.path)
        body = self.token.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def loopback_target():
    """A small HTTP server on 127.0.0.1 that answers every GET with a random token."""
    handler = type("Target", (_Target,), {"token": secrets.token_hex(16), "seen": []})
    server = http.server.ThreadingHTTPServer((LOOPBACK, 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield handler, "%s:%d" % (LOOPBACK, server.server_address[1])
    server.shutdown()
    server.server_close()


@pytest.fixture
def workdir():
    """A short folder (a UDS path must stay under 108 bytes), removed afterwards."""
    d = Path(tempfile.mkdtemp(prefix="knp-", dir="/tmp"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_konnectivity_tunnel_carries_http_connect_from_the_uds_through_the_agent(bundle_meta, image_rootfs, loopback_target, workdir):
    server_bin = image_rootfs(image_name(bundle_meta, "proxy-server")) / "proxy-server"
    agent_bin = image_rootfs(image_name(bundle_meta, "proxy-agent")) / "proxy-agent"
    pki = make_pki(workdir)
    agent_port, health, admin, agent_health, agent_admin = free_ports(5)
    uds = workdir / "konnectivity-server.socket"
    handler, target = loopback_target
    request = ("GET /through-the-tunnel HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % target).encode()
    procs, logs = [], []

    def start(name, argv):
        log = open(workdir / (name + ".log"), "w")
        logs.append(log)
        procs.append(subprocess.Popen([str(a) for a in argv], stdout=log, stderr=subprocess.STDOUT))
        return procs[-1]

    def agent_argv(name, *auth):
        return [agent_bin, "--ca-cert", pki["ca"], *auth, "--proxy-server-host", LOOPBACK,
                "--proxy-server-port", agent_port, "--agent-id", name, "--health-server-host", LOOPBACK,
                "--health-server-port", agent_health, "--admin-bind-address", LOOPBACK, "--admin-server-port", agent_admin]

    ready = "http://%s:%d/readyz" % (LOOPBACK, health)
    try:
        server = start("server", [
            server_bin, "--mode=http-connect", "--uds-name", uds, "--server-port=0", "--server-id=test-server",
            "--agent-bind-address", LOOPBACK, "--agent-port", agent_port,
            "--cluster-cert", pki["server_crt"], "--cluster-key", pki["server_key"], "--cluster-ca-cert", pki["ca"],
            "--health-bind-address", LOOPBACK, "--health-port", health, "--admin-bind-address", LOOPBACK, "--admin-port", admin])
        wait_for("proxy server healthy with its UDS", lambda: uds.is_socket() and
                 http_status("http://%s:%d/healthz" % (LOOPBACK, health))[0] == 200, 30, [server])

        # no agent yet: the server has nowhere to send the CONNECT
        status, body = http_connect(uds, target, request)
        assert " 200 " not in status + " " and "no tunnels available" in body, (status, body)

        # an agent without a client certificate is refused (mTLS): the server stays unready
        anonymous = start("agent-anonymous", agent_argv("anonymous"))
        with pytest.raises(AssertionError, match="not within"):
            wait_for("server ready", lambda: http_status(ready)[0] == 200, 4, [server])
        stop([anonymous])
        assert "certificate required" in (workdir / "agent-anonymous.log").read_text()

        agent = start("agent", agent_argv("test-agent", "--agent-cert", pki["agent_crt"], "--agent-key", pki["agent_key"]))
        wait_for("agent connected (server /readyz)", lambda: http_status(ready)[0] == 200, 30, [server, agent])
        wait_for("agent ready", lambda: http_status("http://%s:%d/readyz" % (LOOPBACK, agent_health))[0] == 200, 30, [agent])

        status, reply = http_connect(uds, target, request)
        assert status.startswith("HTTP/1.1 200"), (status, reply)
        assert reply.startswith("HTTP/1.0 200") and reply.endswith(handler.token), reply
        assert handler.seen == ["/through-the-tunnel"]
        assert 'dialAddress="%s"' % target in (workdir / "agent.log").read_text(), "the agent did not dial the target"

        # the agent gone, the tunnel is gone: what answered came through it
        stop([agent])
        wait_for("server unready without agents", lambda: http_status(ready)[0] == 500, 30, [server])
        status, body = http_connect(uds, target, request)
        assert " 200 " not in status + " " and handler.seen == ["/through-the-tunnel"], (status, body)
    except AssertionError as e:
        for log in logs:
            log.flush()
        tails = "\n".join("--- %s\n%s" % (p.name, p.read_text()[-3000:]) for p in sorted(workdir.glob("*.log")))
        raise AssertionError("%s\n%s" % (e, tails)) from None
    finally:
        stop(procs)
        for log in logs:
            log.close()
