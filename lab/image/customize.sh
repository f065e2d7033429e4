#!/usr/bin/env bash
# Turn a fresh debootstrap tree into a lab image: customize.sh ROOTFS node|services
# Runs on the build host against the tree (no chroot needed). Leaves a tree that boots like a
# freshly installed machine: no SSH host keys and an empty machine-id, both made per container at
# first boot.
set -euo pipefail
rootfs=$1 kind=$2
here=$(cd "$(dirname "$0")" && pwd)

# Files of the recipe: the common overlay, then the services extras.
cp -a "$here/rootfs/." "$rootfs/"
[ "$kind" != services ] || cp -a "$here/services-rootfs/." "$rootfs/"

# Per-machine identity is made at first boot, never baked in.
rm -f "$rootfs"/etc/ssh/ssh_host_*
: > "$rootfs/etc/machine-id"
rm -f "$rootfs/var/lib/dbus/machine-id"
ln -s /etc/machine-id "$rootfs/var/lib/dbus/machine-id"
# podman provides hostname, hosts and resolv.conf at run time; the build host's must not leak in.
: > "$rootfs/etc/resolv.conf"
echo localhost > "$rootfs/etc/hostname"

# Units: our first-boot key generation; the HTTP server on the services image.
systemctl --root="$rootfs" --quiet enable edge-lab-ssh-keygen.service ssh.service
[ "$kind" != services ] || systemctl --root="$rootfs" --quiet enable edge-lab-http.service docker-registry.service
# Nothing to do in a container: no hardware, no consoles to set up, no clock to set.
systemctl --root="$rootfs" --quiet mask \
  getty.target console-getty.service systemd-udevd.service systemd-udev-trigger.service \
  systemd-modules-load.service sys-kernel-config.mount sys-kernel-debug.mount sys-kernel-tracing.mount \
  systemd-remount-fs.service systemd-firstboot.service

# Kernel modules are built into the host kernel; an empty /lib/modules is what such a machine has,
# and kube-proxy's manifest bind-mounts it.
mkdir -p "$rootfs/lib/modules"

# Smaller image: downloaded packages and package lists are not needed on an offline node.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/*.log
