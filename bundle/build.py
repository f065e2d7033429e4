#!/usr/bin/env python3
"""Build the offline bundle: one pinned Kubernetes release, built here from Go modules.

Output (a folder in the cache, linked from artifacts/bundle):
  kube-linux-<arch>-<version>.tar.gz   edgeadm's static package (edge-install/{bin,cni,container})
  images/*.tar + images/manifest.json  one OCI archive per image kubeadm needs, plus the CNI's and
                                       Konnectivity's proxy server and agent (bundle/konnectivity.py)
  addons/flannel/kube-flannel.yml      the CNI manifest, pointing at the bundle's images
  addons/ha/*.deb                      HAProxy, Keepalived and what they need beyond the node image
  bundle.json, SHA256SUMS

Everything is cached by its inputs: each Go component in $CACHE/build/<name>-<key>, the finished
bundle in $CACHE/bundle/<version>-<key>. A warm run only checks keys. Progress lines say the step,
how far, and the elapsed time.
"""

import argparse
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import gzip
import datetime

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import oci  # noqa: E402
import konnectivity  # noqa: E402

T0 = time.time()
MIN_GO = (1, 25)


class BuildError(Exception):
    """A refusal or failure with a message that says what to do."""


def say(msg):
    print("[bundle +%4ds] %s" % (time.time() - T0, msg), file=sys.stderr, flush=True)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def hash_tree(paths):
    """Stable hash over files (path + content) of the given files/folders."""
    h = hashlib.sha256()
    for top in paths:
        items = [top] if os.path.isfile(top) else sorted(
            os.path.join(d, f) for d, _, fs in os.walk(top) for f in fs)
        for p in items:
            if "__pycache__" in p:
                continue
            h.update(os.path.relpath(p, REPO).encode() + b"\0")
            with open(p, "rb") as f:
                h.update(f.read())
    return h.hexdigest()


def run(argv, cwd=None, env=None, quiet=False):
    res = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if res.returncode != 0:
        raise BuildError("command failed (rc=%d): %s\n%s" % (res.returncode, " ".join(argv), res.stdout[-4000:]))
    return res.stdout


# ---------------------------------------------------------------------------------------------
# Preflight: refuse early, before anything is written.

def supported_versions():
    return sorted(f[:-5] for f in os.listdir(os.path.join(HERE, "versions")) if f.endswith(".json"))


def load_versions(version):
    path = os.path.join(HERE, "versions", version + ".json")
    if not os.path.exists(path):
        raise BuildError("unknown Kubernetes version %r: this builder pins %s. Use one of those, or add "
                         "bundle/versions/%s.json and bundle/go/ modules for it (1.31-1.34 only: kubelet 1.35+ "
                         "refuses this host's cgroup v1)." % (version, ", ".join(supported_versions()), version))
    with open(path) as f:
        return json.load(f)


def go_version():
    try:
        out = run(["go", "env", "GOVERSION"]).strip()
    except (OSError, BuildError):
        raise BuildError("the Go toolchain is missing: install Go >= %d.%d (https://go.dev/dl or the "
                         "golang-go package) and make sure `go` is on PATH" % MIN_GO)
    m = re.match(r"go(\d+)\.(\d+)", out)
    if not m or (int(m.group(1)), int(m.group(2))) < MIN_GO:
        raise BuildError("Go %s is too old: Kubernetes 1.34 needs Go >= %d.%d" % (out, MIN_GO[0], MIN_GO[1]))
    return out


def preflight(cache, min_free_gb):
    for tool, why in [("gcc", "compiles the pause binary (apt-get install gcc libc6-dev)"),
                      ("apt-get", "fetches containerd, runc, conntrack and iptables from Debian"),
                      ("dpkg-deb", "unpacks the Debian packages")]:
        if shutil.which(tool) is None:
            raise BuildError("missing tool %r: it %s" % (tool, why))
    gov = go_version()
    os.makedirs(cache, exist_ok=True)
    free = shutil.disk_usage(cache).free / 2**30
    if free < min_free_gb:
        raise BuildError("too little disk: %.1f GiB free under %s, the build needs %d GiB (Go module and build "
                         "caches plus the bundle). Free space there or point EDGE_CLUSTER_CACHE elsewhere."
                         % (free, cache, min_free_gb))
    return gov


# ---------------------------------------------------------------------------------------------
# Debian packages (runtime, conntrack, image userland)

def deb_versions(names):
    out = run(["apt-cache", "policy"] + names)
    found, cur = {}, None
    for line in out.splitlines():
        if re.match(r"^\S.*:$", line):
            cur = line[:-1]
        elif "Candidate:" in line and cur:
            v = line.split(":", 1)[1].strip()
            if v != "(none)":
                found[cur] = v
    missing = [n for n in names if n not in found]
    if missing:
        raise BuildError("Debian packages not found: %s. Run `apt-get update` (scripts/setup-host does)." % ", ".join(missing))
    return found


def fetch_debs(cache, pins):
    """Download each pinned .deb once; returns name -> path."""
    d = os.path.join(cache, "debs")
    os.makedirs(d, exist_ok=True)
    paths, todo = {}, []
    for name, ver in sorted(pins.items()):
        fn = "%s_%s.deb" % (name, ver.replace(":", "%3a"))
        matches = [f for f in os.listdir(d) if f.startswith(fn[:-4])]
        if matches:
            paths[name] = os.path.join(d, matches[0])
        else:
            todo.append((name, ver))
    if todo:
        say("downloading %d Debian packages: %s" % (len(todo), ", ".join(n for n, _ in todo)))
        run(["apt-get", "download", "-q"] + ["%s=%s" % nv for nv in todo], cwd=d)
        for name, ver in todo:
            matches = [f for f in os.listdir(d) if f.startswith("%s_" % name) and f.endswith(".deb")
                       and ver.split(":")[-1] in f]
            if not matches:
                raise BuildError("apt-get download did not produce %s %s" % (name, ver))
            paths[name] = os.path.join(d, matches[0])
    return paths


def unpack_debs(debs, dest):
    for p in debs:
        run(["dpkg-deb", "-x", p, dest])
    for junk in ["usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/lintian", "usr/share/locale",
                 "usr/share/bug"]:
        shutil.rmtree(os.path.join(dest, junk), ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# Go components

def k8s_ldflags(k):
    parts = []
    major, minor = k["version"].lstrip("v").split(".")[:2]
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        for key, val in (("gitVersion", k["version"]), ("gitMajor", major), ("gitMinor", minor),
                         ("gitCommit", k["commit"]), ("gitTreeState", "clean"), ("buildDate", k["build_date"])):
            parts.append("-X %s.%s=%s" % (pkg, key, val))
    return " ".join(parts)


def components(v):
    cni = "github.com/containernetworking/plugins/plugins/"
    cni_dirs = {"bridge": "main/bridge", "host-local": "ipam/host-local", "loopback": "main/loopback",
                "portmap": "meta/portmap", "bandwidth": "meta/bandwidth", "firewall": "meta/firewall",
                "tuning": "meta/tuning"}
    # (name, packages, ldflags[, cgo])
    return [
        ("kubernetes", ["k8s.io/kubernetes/cmd/" + b for b in v["kubernetes"]["binaries"]], k8s_ldflags(v["kubernetes"])),
        ("etcd", ["./cmd/etcd", "go.etcd.io/etcd/etcdctl/v3"], ""),
        ("coredns", ["."], "-X github.com/coredns/coredns/coremain.GitCommit=" + v["coredns"]["version"]),
        ("crictl", ["sigs.k8s.io/cri-tools/cmd/crictl"], "-X sigs.k8s.io/cri-tools/pkg/version.Version=" + v["crictl"]["version"]),
        ("cni", [cni + cni_dirs[p] for p in v["cni_plugins"]["plugins"]], ""),
        ("flannel-cni", [cni + "meta/flannel"], ""),
        # flannel's udp backend is C: built with cgo, linked against the image's glibc
        ("flannel", ["github.com/flannel-io/flannel"], "-X github.com/flannel-io/flannel/pkg/version.Version=" + v["flannel"]["version"], True),
    ] + [konnectivity.component()]


def go_build(cache, name, pkgs, ldflags, gov, progress, cgo=False):
    src = os.path.join(HERE, "go", name)
    key = hashlib.sha256(json.dumps([hash_tree([src]), pkgs, ldflags, gov, cgo]).encode()).hexdigest()[:16]
    out = os.path.join(cache, "build", "%s-%s" % (name, key))
    if os.path.exists(os.path.join(out, ".done")):
        say("%s %s: cached (%s)" % (progress, name, out))
        return out
    tmp = out + ".part"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    env = dict(os.environ, CGO_ENABLED="1" if cgo else "0", GOFLAGS="-mod=readonly -buildvcs=false", GOTOOLCHAIN="local",
               # go.sum is committed and checked; the checksum database is not reachable from here
               GOSUMDB="off", GOPROXY=os.environ.get("GOPROXY", "https://proxy.golang.org"))
    argv = ["go", "build", "-v", "-trimpath", "-ldflags", ("-s -w " + ldflags).strip(), "-o", tmp + "/"] + pkgs
    say("%s %s: go build %d command(s) (long on a cold cache; progress every 30 s)" % (progress, name, len(pkgs)))
    started = time.time()
    proc = subprocess.Popen(argv, cwd=src, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines, count = [], [0]

    def pump():
        for line in proc.stdout:
            lines.append(line)
            count[0] += 1

    t = threading.Thread(target=pump, daemon=True)
    t.start()
    while t.is_alive():
        t.join(30)
        if t.is_alive():
            say("%s %s: %d packages compiled, %ds" % (progress, name, count[0], time.time() - started))
    if proc.wait() != 0:
        # -v lists package paths on the same stream as the compiler's errors: keep only the errors
        errors = [l for l in lines if l.startswith("#") or ".go:" in l or " " in l.strip()]
        tail = "".join((errors or lines)[-40:])
        if "missing go.sum entry" in tail:
            tail += ("\nbundle/go/%s/go.sum is incomplete: run `cd bundle/go/%s && GOSUMDB=off go mod tidy` "
                     "and commit the result." % (name, name))
        raise BuildError("go build of %s failed:\n%s" % (name, tail))
    open(os.path.join(tmp, ".done"), "w").close()
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)
    say("%s %s: built in %ds" % (progress, name, time.time() - started))
    return out


def build_pause(cache, v):
    moddir = run(["go", "list", "-m", "-f", "{{.Dir}}", "k8s.io/kubernetes"],
                 cwd=os.path.join(HERE, "go", "kubernetes")).strip()
    src = os.path.join(moddir, "build", "pause", "linux", "pause.c")
    out = os.path.join(cache, "build", "pause-%s-%s" % (v["pause"]["version"], sha256_file(src)[:12]))
    if not os.path.exists(os.path.join(out, "pause")):
        os.makedirs(out, exist_ok=True)
        run(["gcc", "-Os", "-Wall", "-Werror", "-static", "-DVERSION=v%s-bundle" % v["pause"]["version"],
             "-o", os.path.join(out, "pause.part"), src])
        run(["strip", os.path.join(out, "pause.part")])
        os.replace(os.path.join(out, "pause.part"), os.path.join(out, "pause"))
    return os.path.join(out, "pause")


# ---------------------------------------------------------------------------------------------
# Packing

def det_targz(dest, entries):
    """A reproducible .tar.gz: entries is a list of (arcname, source path or None for a directory)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for arc, src in sorted(entries):
            info = tarfile.TarInfo(arc)
            info.mtime, info.uid, info.gid, info.uname, info.gname = oci.EPOCH, 0, 0, "root", "root"
            if src is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                info.size, info.mode = os.path.getsize(src), os.stat(src).st_mode & 0o777
                with open(src, "rb") as f:
                    tar.addfile(info, f)
    with open(dest + ".part", "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="", compresslevel=6) as gz:
        gz.write(buf.getvalue())
    os.replace(dest + ".part", dest)


def build_package(work, out_dir, v, bins, debroot, arch):
    k = v["kubernetes"]["version"]
    root = os.path.join(work, "edge-install")
    for sub in ("bin", "cni", "container"):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    for b in ("kubeadm", "kubelet", "kubectl"):
        shutil.copy2(os.path.join(bins["kubernetes"], b), os.path.join(root, "bin", b))
    shutil.copy2(os.path.join(bins["crictl"], "crictl"), os.path.join(root, "bin", "crictl"))
    shutil.copy2(os.path.join(debroot, "usr/sbin/conntrack"), os.path.join(root, "bin", "conntrack"))
    cni_v = v["cni_plugins"]["version"]
    cni_entries = [("./" + p, os.path.join(bins["cni"], p)) for p in v["cni_plugins"]["plugins"]]
    cni_entries.append(("./flannel", os.path.join(bins["flannel-cni"], "flannel")))
    det_targz(os.path.join(root, "cni", "cni-plugins-linux-%s-%s.tgz" % (arch, cni_v)), cni_entries)
    rt = v["_resolved"]["debian"]
    ctd_v = rt["containerd"].split("~")[0].split("-")[0]
    det_targz(os.path.join(root, "container", "containerd-%s-linux-%s.tar.gz" % (ctd_v, arch)), [
        ("bin", None),
        ("bin/containerd", os.path.join(debroot, "usr/bin/containerd")),
        ("bin/containerd-shim-runc-v2", os.path.join(debroot, "usr/bin/containerd-shim-runc-v2")),
        ("bin/ctr", os.path.join(debroot, "usr/bin/ctr")),
        ("bin/runc", os.path.join(debroot, "usr/sbin/runc")),
    ])
    files = {}
    for d, _, fs in os.walk(root):
        for f in fs:
            p = os.path.join(d, f)
            rel = os.path.relpath(p, root)
            files[rel] = {"sha256": sha256_file(p), "size": os.path.getsize(p), "mode": "%04o" % (os.stat(p).st_mode & 0o777)}
    manifest = {
        "name": "kube-linux-%s-%s" % (arch, k), "kubernetes_version": k, "arch": arch,
        "versions": {"kubernetes": k, "crictl": v["crictl"]["version"], "cni_plugins": cni_v,
                     "flannel_cni": v["flannel"]["cni_plugin_module_version"],
                     "containerd": rt["containerd"], "runc": rt["runc"], "conntrack": rt["conntrack"]},
        "files": dict(sorted(files.items())),
    }
    with open(os.path.join(root, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2, sort_keys=True)
    entries = [("edge-install", None)]
    for d, dirs, fs in os.walk(root):
        for sub in dirs:
            entries.append((os.path.relpath(os.path.join(d, sub), work), None))
        for f in fs:
            entries.append((os.path.relpath(os.path.join(d, f), work), os.path.join(d, f)))
    name = "kube-linux-%s-%s.tar.gz" % (arch, k)
    det_targz(os.path.join(out_dir, name), entries)
    return name, manifest


def userland_layer(debroot):
    """The files of the image userland packages, plus the symlinks their maintainer scripts would make."""
    entries = {}
    for d, dirs, fs in os.walk(debroot):
        for n in dirs + fs:
            p = os.path.join(d, n)
            rel = os.path.relpath(p, debroot)
            if rel.startswith(("usr/share/", "etc/init.d", "etc/default", "usr/lib/systemd", "lib/systemd")) \
                    and not rel.startswith("usr/share/ca-certificates"):
                continue
            if os.path.islink(p):
                entries[rel] = oci.symlink(os.readlink(p))
            elif os.path.isdir(p):
                entries[rel] = oci.directory(os.stat(p).st_mode & 0o7777)
            else:
                entries[rel] = oci.file(p)
    # update-alternatives in iptables' postinst: the nft backend, as on the Debian 12 nodes
    for tool in ("iptables", "iptables-save", "iptables-restore", "ip6tables", "ip6tables-save", "ip6tables-restore"):
        entries["usr/sbin/" + tool] = oci.symlink("xtables-nft-multi")
    # busybox supplies the shell utilities flannel's install-cni init container uses
    for tool in ("sh", "cp", "mkdir", "cat", "ls", "rm", "mv", "ln", "chmod", "test", "echo", "sleep", "sed", "grep"):
        entries.setdefault("bin/" + tool, oci.symlink("busybox"))
    return entries


def static_layer():
    return {
        "etc/passwd": oci.data("root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"),
        "etc/group": oci.data("root:x:0:\nnogroup:x:65534:\n"),
        "etc/nsswitch.conf": oci.data("hosts: files dns\n"),
        "etc/ssl/certs/ca-certificates.crt": oci.file("/etc/ssl/certs/ca-certificates.crt", 0o644),
        "tmp": oci.directory(0o1777),
        "var/run": oci.directory(),
    }


PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def image_specs(v, repo, bins, pause, debroot):
    k = v["kubernetes"]["version"]
    static = static_layer()
    userland = userland_layer(debroot)
    specs = []
    for comp in ("kube-apiserver", "kube-controller-manager", "kube-scheduler"):
        specs.append(("%s/%s:%s" % (repo, comp, k), [static, {"usr/local/bin/" + comp: oci.file(os.path.join(bins["kubernetes"], comp))}],
                      {"Env": [PATH_ENV], "Entrypoint": ["/usr/local/bin/" + comp]}))
    specs.append(("%s/kube-proxy:%s" % (repo, k), [static, userland, {"usr/local/bin/kube-proxy": oci.file(os.path.join(bins["kubernetes"], "kube-proxy"))}],
                  {"Env": [PATH_ENV], "Entrypoint": ["/usr/local/bin/kube-proxy"]}))
    specs.append(("%s/etcd:%s" % (repo, v["etcd"]["image_tag"]), [static, {
        "usr/local/bin/etcd": oci.file(os.path.join(bins["etcd"], "etcd")),
        "usr/local/bin/etcdctl": oci.file(os.path.join(bins["etcd"], "etcdctl")),
        "var/lib/etcd": oci.directory(0o700)}], {"Env": [PATH_ENV]}))
    specs.append(("%s/coredns/coredns:%s" % (repo, v["coredns"]["version"]), [static, {"coredns": oci.file(os.path.join(bins["coredns"], "coredns"))}],
                  {"Env": [PATH_ENV], "Entrypoint": ["/coredns"], "ExposedPorts": {"53/tcp": {}, "53/udp": {}}}))
    specs.append(("%s/pause:%s" % (repo, v["pause"]["version"]), [{"pause": oci.file(pause)}],
                  {"Entrypoint": ["/pause"], "User": "65535:65535"}))
    specs.append(("%s/flannel:%s" % (repo, v["flannel"]["version"]), [static, userland, {"opt/bin/flanneld": oci.file(os.path.join(bins["flannel"], "flannel"))}],
                  {"Env": [PATH_ENV], "Entrypoint": ["/opt/bin/flanneld"]}))
    return specs


def safe_name(image):
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", image)


def copy_ha_debs(out_dir, v, debs, pins):
    """The HA load balancer's .debs (edge.cluster.ha_loadbalancer installs them with dpkg, offline)."""
    d = os.path.join(out_dir, "addons", "ha")
    os.makedirs(d, exist_ok=True)
    packages = []
    for name in v["debian"].get("ha", []):
        fn = os.path.basename(debs[name])
        shutil.copyfile(debs[name], os.path.join(d, fn))
        packages.append({"name": name, "version": pins[name], "file": "addons/ha/" + fn,
                         "sha256": sha256_file(os.path.join(d, fn))})
    return {"dir": "addons/ha", "packages": packages}


def write_flannel_manifest(out_dir, v, repo, pod_cidr):
    with open(os.path.join(HERE, "addons", "kube-flannel.yml.in")) as f:
        text = f.read()
    text = (text.replace("@FLANNEL_IMAGE@", "%s/flannel:%s" % (repo, v["flannel"]["version"]))
                .replace("@POD_NETWORK_CIDR@", pod_cidr))
    d = os.path.join(out_dir, "addons", "flannel")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "kube-flannel.yml"), "w") as f:
        f.write(text)


# ---------------------------------------------------------------------------------------------

def bundle_key(v, repo, arch, gov, debs, pod_cidr):
    code = sorted(f for f in os.listdir(HERE) if f.endswith(".py"))
    inputs = [hash_tree([os.path.join(HERE, p) for p in code + ["go", "addons", "versions"]]),
              v["kubernetes"]["version"], repo, arch, gov, sorted(debs.items()), pod_cidr]
    return hashlib.sha256(json.dumps(inputs).encode()).hexdigest()[:12]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kubernetes-version", default=os.environ.get("EDGE_CLUSTER_KUBERNETES_VERSION", "v1.34.12"))
    ap.add_argument("--image-repository", default=os.environ.get("EDGE_CLUSTER_IMAGE_REPOSITORY", "registry.k8s.io"))
    ap.add_argument("--pod-network-cidr", default="10.244.0.0/16", help="the default Network in the flannel manifest")
    ap.add_argument("--arch", default="amd64")
    ap.add_argument("--cache", default=os.environ.get("EDGE_CLUSTER_CACHE", os.path.expanduser("~/.cache/edge-cluster")))
    ap.add_argument("--link", default=os.path.join(REPO, "artifacts", "bundle"), help="symlink to the finished bundle")
    ap.add_argument("--min-free-gb", type=int, default=int(os.environ.get("EDGE_CLUSTER_BUNDLE_MIN_FREE_GB", "12")))
    args = ap.parse_args(argv)
    try:
        if args.arch != "amd64":
            raise BuildError("arch %r: this builder only builds amd64 (the lab's architecture)" % args.arch)
        v = load_versions(args.kubernetes_version)
        say("step 1/6 preflight (version %s, image repository %s)" % (args.kubernetes_version, args.image_repository))
        gov = preflight(args.cache, args.min_free_gb)
        pin = konnectivity.pin_error(v, json.loads(run(["go", "mod", "edit", "-json"], cwd=os.path.join(HERE, "go", "konnectivity"))))
        if pin:
            raise BuildError(pin)
        oci.EPOCH = int(datetime.datetime.strptime(v["kubernetes"]["build_date"], "%Y-%m-%dT%H:%M:%SZ")
                        .replace(tzinfo=datetime.timezone.utc).timestamp())
        deb_names = sorted(set(v["debian"]["runtime"] + v["debian"]["host_tools"] + v["debian"]["image_userland"]
                               + v["debian"].get("ha", []) + ["netbase"]))
        pins = deb_versions(deb_names)
        key = bundle_key(v, args.image_repository, args.arch, gov, pins, args.pod_network_cidr)
        out = os.path.join(args.cache, "bundle", "%s-%s" % (args.kubernetes_version, key))
        if not os.path.exists(os.path.join(out, "SHA256SUMS")):
            build(args, v, gov, pins, out)
        else:
            say("bundle is cached: %s" % out)
        os.makedirs(os.path.dirname(args.link), exist_ok=True)
        if os.path.islink(args.link) or os.path.exists(args.link):
            os.remove(args.link)
        os.symlink(out, args.link)
        say("done: %s -> %s" % (os.path.relpath(args.link, REPO) if args.link.startswith(REPO) else args.link, out))
        print(out)
        return 0
    except BuildError as e:
        say("ERROR: %s" % e)
        return 2


def build(args, v, gov, pins, out):
    v["_resolved"] = {"debian": pins}
    say("step 2/6 Debian packages")
    debs = fetch_debs(args.cache, pins)
    work = tempfile.mkdtemp(prefix="edge-bundle-", dir=os.path.join(args.cache))
    try:
        rtroot = os.path.join(work, "debs-runtime")
        unpack_debs([debs[n] for n in v["debian"]["runtime"] + v["debian"]["host_tools"]], rtroot)
        imgroot = os.path.join(work, "debs-image")
        unpack_debs([debs[n] for n in v["debian"]["image_userland"] + ["netbase"]], imgroot)
        say("step 3/6 Go components")
        comps = components(v)
        bins = {}
        for i, comp in enumerate(comps, 1):
            bins[comp[0]] = go_build(args.cache, *comp[:3], gov=gov, progress="[%d/%d]" % (i, len(comps)),
                                     cgo=comp[3] if len(comp) > 3 else False)
        pause = build_pause(args.cache, v)
        tmp_out = out + ".part"
        shutil.rmtree(tmp_out, ignore_errors=True)
        os.makedirs(os.path.join(tmp_out, "images"))
        say("step 4/6 static package")
        pkg_name, pkg_manifest = build_package(os.path.join(work, "pkg"), tmp_out, v, bins, rtroot, args.arch)
        say("step 5/6 image archives")
        images = []
        specs = image_specs(v, args.image_repository, bins, pause, imgroot)
        specs += konnectivity.image_specs(v, args.image_repository, bins, static_layer())
        for i, (name, layers, config) in enumerate(specs, 1):
            fn = safe_name(name) + ".tar"
            digest = oci.build_archive(os.path.join(tmp_out, "images", fn), name, layers, config, args.arch)
            images.append({"name": name, "file": "images/" + fn, "digest": digest,
                           "size": os.path.getsize(os.path.join(tmp_out, "images", fn))})
            say("  [%d/%d] %s (%d MiB)" % (i, len(specs), name, images[-1]["size"] >> 20))
        with open(os.path.join(tmp_out, "images", "manifest.json"), "w") as f:
            json.dump(images, f, indent=2)
        write_flannel_manifest(tmp_out, v, args.image_repository, args.pod_network_cidr)
        ha = copy_ha_debs(tmp_out, v, debs, pins)
        say("step 6/6 bundle.json and SHA256SUMS")
        meta = {"kubernetes_version": v["kubernetes"]["version"], "arch": args.arch,
                "image_repository": args.image_repository, "package": pkg_name,
                "versions": dict(pkg_manifest["versions"], etcd=v["etcd"]["version"], coredns=v["coredns"]["version"],
                                 pause=v["pause"]["version"], flannel=v["flannel"]["version"]),
                "images": [i["name"] for i in images], "cni": {"name": "flannel", "manifest": "addons/flannel/kube-flannel.yml",
                                                              "pod_network_cidr": args.pod_network_cidr},
                "ha": ha}
        meta["versions"]["konnectivity"] = v["konnectivity"]["version"]
        meta["konnectivity"] = konnectivity.bundle_meta(v, args.image_repository)
        with open(os.path.join(tmp_out, "bundle.json"), "w") as f:
            json.dump(meta, f, indent=2)
        sums = []
        for d, _, fs in os.walk(tmp_out):
            for fn in fs:
                p = os.path.join(d, fn)
                sums.append("%s  %s" % (sha256_file(p), os.path.relpath(p, tmp_out)))
        with open(os.path.join(tmp_out, "SHA256SUMS"), "w") as f:
            f.write("\n".join(sorted(sums, key=lambda s: s.split("  ", 1)[1])) + "\n")
        shutil.rmtree(out, ignore_errors=True)
        os.replace(tmp_out, out)
        say("bundle built: %s" % out)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
