"""The conformance kit's test images, as layers for oci.build_archive.

Each image stands in for one of upstream's (test/images/<name>/ in k8s.io/kubernetes) and is laid
out like it, from Debian packages instead of Alpine's:
  base      busybox with every applet linked (upstream's Alpine and busybox bases), bash as sh
  tools     netcat-openbsd, iproute2, dig/nslookup/host, curl, iperf, getent (agnhost's apk add)
  busybox   static + base
  agnhost   static + base + tools + /agnhost, /agnhost-2, /coredns, /uploads, porter's key pair,
            the user and group its SupplementalGroups test expects; ENTRYPOINT /agnhost, CMD pause
  jessie-dnsutils  static + base + tools + /coredns (upstream: Debian with dnsutils and CoreDNS)
  kitten, nautilus agnhost + the picture and data.json; CMD test-webserver
  httpd     static + base + apache2-bin, a foreground config, htdocs/index.html; CMD httpd-foreground
  nginx     static + base + nginx; CMD nginx -g "daemon off;"
"""

import os
import subprocess
import tempfile

import build
import oci

HERE = os.path.dirname(os.path.abspath(__file__))
BIN_DIRS = ("usr/local/sbin", "usr/local/bin", "usr/sbin", "usr/bin", "sbin", "bin")
# Debian sets these with update-alternatives in the packages' maintainer scripts.
# The upstream images this module has a recipe for (specs() below).
RECIPES = ("agnhost", "busybox", "httpd", "jessie-dnsutils", "kitten", "nautilus", "nginx")
ALTERNATIVES = {"bin/nc": "nc.openbsd", "bin/netcat": "nc.openbsd"}


def debian_layer(root, drop=()):
    """The files of unpacked Debian packages as the bundle's userland layer takes them (no
    documentation or service files), without the links that layer adds for the bundle's own
    images (iptables' alternatives, busybox tools) where this root has no such file."""
    entries = build.userland_layer(root)
    with tempfile.TemporaryDirectory() as empty:
        for path in build.userland_layer(empty):
            if not os.path.lexists(os.path.join(root, path)):
                del entries[path]
    skip = ("etc/logrotate.d", "etc/ufw") + tuple(drop)
    return {path: entry for path, entry in entries.items() if not path.startswith(skip)}


def busybox_applets(busybox):
    """In-image paths of busybox's applets (bin/ls, usr/bin/wget, ...), as busybox lists them."""
    out = subprocess.run([busybox, "--list-full"], stdout=subprocess.PIPE, check=True, text=True).stdout
    return sorted(line.strip().lstrip("/") for line in out.splitlines() if line.strip())


def base_layer(root):
    """busybox, bash, glibc and netbase, with a link for every other applet (busybox's ash looks
    programs up in PATH: a real nc or ip in a later layer wins over the applet)."""
    entries = debian_layer(root)
    # sh is bash: it passes environment variables whose names are not shell names (data-1=x) on
    # to the programs it starts, as upstream's busybox 1.37 does; Debian's busybox 1.35 ash drops them
    entries["bin/sh"] = oci.symlink("bash")
    for path in busybox_applets(os.path.join(root, "bin", "busybox")):
        # where Debian's busybox puts the applet (sbin/sysctl), and in /bin as upstream's busybox
        # image has every applet (the Sysctls spec runs /bin/sysctl)
        for link in (path, "bin/" + os.path.basename(path)):
            if link not in entries:
                entries[link] = oci.symlink("/bin/busybox")
    # mount points the runtime fills; present so a chroot (tests/bundle) can mount them too
    entries.update({"proc": oci.directory(0o555), "sys": oci.directory(0o555), "dev": oci.directory()})
    return entries


def tools_layer(root, base, drop):
    """The tools packages; where busybox has an applet of the same name, its link points to the
    real program instead, so PATH order cannot pick busybox's nc or ip over Debian's."""
    entries = debian_layer(root, drop)
    for path, target in ALTERNATIVES.items():
        entries[path] = oci.symlink(target)
    real = {}
    for path, entry in entries.items():
        d, name = os.path.split(path)
        if d in BIN_DIRS and entry.kind in ("file", "symlink"):
            real.setdefault(name, "/" + path)
    for path, entry in base.items():
        name = os.path.basename(path)
        if entry.kind == "symlink" and entry.target == "/bin/busybox" and name in real and path not in entries:
            entries[path] = oci.symlink(real[name])
    return entries


def _data_file(name):
    with open(os.path.join(HERE, name)) as f:
        return f.read()


def httpd_layer(root, drop, modules):
    entries = debian_layer(root, drop)
    keep = {"mod_%s.so" % m for m in modules}
    for path in list(entries):
        if path.startswith("usr/lib/apache2/modules/") and os.path.basename(path) not in keep:
            del entries[path]
    load = "\n".join("LoadModule %s_module /usr/lib/apache2/modules/mod_%s.so" % (m, m) for m in modules)
    entries.update({
        "usr/local/apache2/conf/httpd.conf": oci.data(_data_file("httpd.conf").replace("@LOADMODULES@", load)),
        "usr/local/apache2/htdocs/index.html": oci.data("<html><body><h1>It works!</h1></body></html>\n"),
        "usr/local/apache2/logs": oci.directory(),
        "usr/local/bin/httpd-foreground": oci.data(
            "#!/bin/sh\nset -e\nrm -f /usr/local/apache2/logs/httpd.pid\n"
            "exec /usr/sbin/apache2 -DFOREGROUND -f /usr/local/apache2/conf/httpd.conf \"$@\"\n", 0o755),
    })
    return entries


def nginx_layer(root, drop):
    entries = debian_layer(root, drop)
    for path in list(entries):
        if path.startswith(("etc/nginx/sites-", "etc/nginx/modules-", "etc/nginx/conf.d")):
            del entries[path]
    entries.update({
        "etc/nginx/nginx.conf": oci.data(_data_file("nginx.conf")),
        "usr/share/nginx/html/index.html": oci.data(
            "<html><head><title>Welcome to nginx!</title></head><body><h1>Welcome to nginx!</h1></body></html>\n"),
        "var/lib/nginx": oci.directory(),
        "var/log/nginx/error.log": oci.symlink("/dev/stderr"),
        "var/log/nginx/access.log": oci.symlink("/dev/stdout"),
        "run": oci.directory(),
    })
    return entries


def agnhost_layer(agnhost, coredns, module_dir):
    porter = os.path.join(module_dir, "test", "images", "agnhost", "porter")
    return {
        "agnhost": oci.file(agnhost, 0o755),
        "agnhost-2": oci.symlink("agnhost"),
        "coredns": oci.file(coredns, 0o755),
        "uploads": oci.directory(),
        "localhost.crt": oci.file(os.path.join(porter, "localhost.crt"), 0o644),
        "localhost.key": oci.file(os.path.join(porter, "localhost.key"), 0o644),
        "usr/local/bin/iperf": oci.symlink("/usr/bin/iperf"),
        # the SupplementalGroups test's user-defined-in-image (1000) in group-defined-in-image (50000)
        "etc/passwd": oci.data("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"
                               "user-defined-in-image:x:1000:1000::/home/user-defined-in-image:/bin/sh\n"),
        "etc/group": oci.data("root:x:0:\nnogroup:x:65534:\nuser-defined-in-image:x:1000:\n"
                              "group-defined-in-image:x:50000:user-defined-in-image\n"),
        "home/user-defined-in-image": oci.directory(),
    }


def specs(names, roots, kv, bins, module_dir):
    """(name, layers, config) for every image the kit builds; names is a list of (upstream image,
    e.g. agnhost, and the full name it carries). Returns the specs and the names it has no recipe for."""
    static = build.static_layer()
    base = base_layer(roots["base"])
    tools = tools_layer(roots["tools"], base, kv["drop"].get("tools", []))
    agn = agnhost_layer(bins["agnhost"], bins["coredns"], module_dir)
    env = {"Env": [build.PATH_ENV]}
    ports = {"ExposedPorts": {p: {} for p in ("80/tcp", "8080/tcp", "8081/tcp", "9376/tcp", "5000/tcp")}}
    recipes = {
        "busybox": lambda: ([static, base], dict(env, Cmd=["sh"])),
        "agnhost": lambda: ([static, base, tools, agn], dict(env, Entrypoint=["/agnhost"], Cmd=["pause"], **ports)),
        "jessie-dnsutils": lambda: ([static, base, tools, {"coredns": agn["coredns"]}], dict(env, Cmd=["/bin/bash"])),
        "httpd": lambda: ([static, base, httpd_layer(roots["httpd"], kv["drop"].get("httpd", []), kv["httpd_modules"])],
                          dict(env, Cmd=["httpd-foreground"], ExposedPorts={"80/tcp": {}},
                               WorkingDir="/usr/local/apache2")),
        "nginx": lambda: ([static, base, nginx_layer(roots["nginx"], kv["drop"].get("nginx", []))],
                          dict(env, Cmd=["nginx", "-g", "daemon off;"], ExposedPorts={"80/tcp": {}})),
    }
    for pet in ("kitten", "nautilus"):
        html = os.path.join(module_dir, "test", "images", pet, "html")
        recipes[pet] = (lambda html=html, pet=pet: ([static, base, tools, agn, {
            pet + ".jpg": oci.file(os.path.join(html, pet + ".jpg"), 0o644),
            "data.json": oci.file(os.path.join(html, "data.json"), 0o644)}],
            dict(env, Entrypoint=["/agnhost"], Cmd=["test-webserver"], **ports)))
    out, missing = [], []
    for upstream, full in sorted(names):
        if upstream in recipes:
            layers, config = recipes[upstream]()
            out.append((full, layers, config))
        else:
            missing.append(full)
    return out, missing
