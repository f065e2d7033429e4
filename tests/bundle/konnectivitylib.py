"""Helpers for the Konnectivity bundle tests: a throwaway PKI, loopback ports, bounded processes."""

import datetime
import ipaddress
import random
import socket
import struct
import subprocess
import time
import urllib.error
import urllib.request

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

LOOPBACK = "127.0.0.1"


def _write_key(path, key):
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)


def _cert(subject_cn, key, issuer_cert=None, issuer_key=None, ca=False, usage=None, ips=()):
    now = datetime.datetime.now(datetime.timezone.utc)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject_cn)])
    builder = (x509.CertificateBuilder().subject_name(subject)
               .issuer_name(issuer_cert.subject if issuer_cert else subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(hours=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if usage:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if ips:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(i)) for i in ips]),
                                        critical=False)
    return builder.sign(issuer_key or key, hashes.SHA256())


def make_pki(d):
    """A CA, a server certificate for 127.0.0.1 and an agent client certificate, as PEM files in d."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert("konnectivity-test-ca", ca_key, ca=True)
    files = {"ca": d / "ca.crt"}
    files["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    for name, usage, ips in (("server", ExtendedKeyUsageOID.SERVER_AUTH, [LOOPBACK]),
                             ("agent", ExtendedKeyUsageOID.CLIENT_AUTH, [])):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _cert("konnectivity-test-" + name, key, ca, ca_key, usage=usage, ips=ips)
        files[name + "_crt"], files[name + "_key"] = d / (name + ".crt"), d / (name + ".key")
        files[name + "_crt"].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        _write_key(files[name + "_key"], key)
    return files


def free_ports(n):
    """n distinct free loopback ports, random within 20000-49151 (the proxy server refuses ephemeral ports)."""
    ports = set()
    while len(ports) < n:
        port = random.randint(20000, 49151)
        with socket.socket() as s:
            try:
                s.bind((LOOPBACK, port))
            except OSError:
                continue
        ports.add(port)
    return sorted(ports, key=lambda _: random.random())


def http_status(url, timeout=2):
    """(status, body) of a GET, or (None, error) when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")
    except OSError as e:
        return None, str(e)


def wait_for(what, check, timeout, procs=()):
    """Poll check() until it returns a true value; fail with `what` (and any dead process) after timeout s."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        dead = [p for p in procs if p.poll() is not None]
        if dead or time.monotonic() > deadline:
            raise AssertionError("%s: %s" % (what, "exited: " + ", ".join(" ".join(p.args[:1]) for p in dead)
                                             if dead else "not within %ds" % timeout))
        time.sleep(0.2)


def http_connect(uds, target, request, timeout=10):
    """CONNECT to target through the proxy server's UDS, send request, return (connect status line, reply)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(str(uds))
        s.sendall(("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (target, target)).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = s.recv(4096)
            if not chunk:
                break
            head += chunk
        status, _, rest = head.partition(b"\r\n")
        if b" 200 " not in status + b" ":
            return status.decode(errors="replace"), (rest + _drain(s)).decode(errors="replace")
        s.sendall(request)
        return status.decode(errors="replace"), (head.split(b"\r\n\r\n", 1)[1] + _drain(s)).decode(errors="replace")


def _drain(s):
    out = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out
            out += chunk
    except socket.timeout:
        return out


def stop(procs):
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=5)


def elf_facts(path):
    """(ELF class, machine, program header types) of an ELF file: 2 = 64-bit, 62 = x86-64."""
    with open(path, "rb") as f:
        head = f.read(64)
        assert head[:4] == b"\x7fELF" and head[5] == 1, "%s is not a little-endian ELF file" % path
        machine, = struct.unpack_from("<H", head, 18)
        if head[4] != 2:
            return head[4], machine, set()
        phoff, = struct.unpack_from("<Q", head, 32)
        phentsize, phnum = struct.unpack_from("<HH", head, 54)
        types = set()
        for i in range(phnum):
            f.seek(phoff + i * phentsize)
            types.add(struct.unpack("<I", f.read(4))[0])
    return head[4], machine, types
