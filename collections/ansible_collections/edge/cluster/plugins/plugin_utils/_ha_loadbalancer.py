# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to this collection: it may change at any time; do not import it from elsewhere.

"""The HA load balancer's VRRP plan: each control-plane node's address, its unicast peers, its
priority and the check weight, and the VIP checked against the interface it goes on.

Priorities fall by `step` along the group's order (the first host is the preferred holder). A
failed HAProxy check subtracts `step * len(members)`, which puts that node below every node whose
HAProxy is healthy, so the VIP always leaves a node whose HAProxy is gone.
"""

from __future__ import annotations

import ipaddress
import re

VRRP_PRIORITY_MAX = 254  # 255 is reserved for the address owner
VRRP_WEIGHT_MAX = 253


class HAPlanError(ValueError):
    """Bad input, with a message that says what is wrong and how to fix it."""


def _ipv4(text):
    """An IPv4Address for a dotted-quad string, else None."""
    if not isinstance(text, str) or not re.match(r'^[0-9]{1,3}(\.[0-9]{1,3}){3}\Z', text.strip()):
        return None
    try:
        return ipaddress.IPv4Address(text.strip())
    except ValueError:
        return None


def peer_address(member):
    """The address a member uses in VRRP: its explicit address, else its ansible_host when that is
    an IPv4 address, else its IPv4 address on the VIP's interface, else its default IPv4 address
    (both from facts)."""
    name = member.get('name', '?')
    explicit = (member.get('address') or '').strip()
    if explicit:
        if _ipv4(explicit) is None:
            raise HAPlanError('%s: ha_loadbalancer_address %r is not an IPv4 address; set it to the address the '
                              'other control-plane nodes reach this one on' % (name, explicit))
        return str(_ipv4(explicit))
    for key in ('ansible_host', 'interface_ipv4', 'default_ipv4'):
        found = _ipv4(member.get(key) or '')
        if found is not None:
            return str(found)
    raise HAPlanError('%s: no IPv4 address for VRRP or HAProxy: its ansible_host (%r) is not an IPv4 address and it has no '
                      'default IPv4 address in its facts. Run the role on every host of the group (facts are '
                      'gathered there), or set ha_loadbalancer_address for it' % (name, member.get('ansible_host') or ''))


def member_addresses(members, group='control_plane'):
    """[{'name', 'address'}] of every member, in the group's order: the address peer_address
    derives for each, none shared (the VRRP peers, and HAProxy's backends)."""
    if not members:
        raise HAPlanError('group %r has no hosts: set ha_loadbalancer_group to the group of control-plane nodes' % group)
    found, seen = [], {}
    for member in members:
        name, address = member.get('name', '?'), peer_address(member)
        if address in seen:
            raise HAPlanError('%s and %s both have the address %s: give each control-plane node its own address '
                              '(ansible_host or ha_loadbalancer_address)' % (seen[address], name, address))
        seen[address] = name
        found.append({'name': name, 'address': address})
    return found


def vrrp_plan(members, host, vip, interface, interface_ipv4, priority_top=150, priority_step=10,
              virtual_router_id=51, group='control_plane'):
    """The VRRP settings of `host`.

    members: the group's hosts in inventory order, dicts with name, and address / ansible_host /
    interface_ipv4 / default_ipv4 (any may be empty). interface_ipv4: the interface's facts ({'address', 'netmask'}).
    """
    if not members:
        raise HAPlanError('group %r has no hosts: set ha_loadbalancer_group to the group of control-plane nodes' % group)
    names = [m.get('name') for m in members]
    if host not in names:
        raise HAPlanError('%s is not in group %r (%s): run the role on that group, or set ha_loadbalancer_group'
                          % (host, group, ', '.join(names)))
    try:
        priority_top, priority_step, virtual_router_id = int(priority_top), int(priority_step), int(virtual_router_id)
    except (TypeError, ValueError):
        raise HAPlanError('ha_loadbalancer_priority_top, ha_loadbalancer_priority_step and '
                          'ha_loadbalancer_virtual_router_id must be integers')
    if not 1 <= virtual_router_id <= 255:
        raise HAPlanError('ha_loadbalancer_virtual_router_id %d is out of range: VRRP allows 1-255 (pick one no other '
                          'VRRP group on the network uses)' % virtual_router_id)
    if not 1 <= priority_top <= VRRP_PRIORITY_MAX or priority_step < 1:
        raise HAPlanError('ha_loadbalancer_priority_top must be 1-%d and ha_loadbalancer_priority_step at least 1 '
                          '(got %d and %d)' % (VRRP_PRIORITY_MAX, priority_top, priority_step))
    lowest = priority_top - priority_step * (len(members) - 1)
    weight = priority_step * len(members)
    if lowest < 1 or weight > VRRP_WEIGHT_MAX:
        raise HAPlanError('%d hosts with ha_loadbalancer_priority_top=%d and ha_loadbalancer_priority_step=%d give '
                          'priorities down to %d and a check weight of -%d; VRRP needs priorities >= 1 and weights '
                          '<= %d: lower the step or raise the top priority'
                          % (len(members), priority_top, priority_step, lowest, weight, VRRP_WEIGHT_MAX))

    addresses = [m['address'] for m in member_addresses(members, group)]
    seen = dict(zip(addresses, names))

    position = names.index(host)
    own = addresses[position]
    vip_text = (vip or '').strip() if isinstance(vip, str) else ''
    vip_address = _ipv4(vip_text)
    if vip_address is None:
        raise HAPlanError('ha_loadbalancer_vip %r is not an IPv4 address: set it (or edge_cluster_ha_vip) to a free '
                          'address in the subnet of %s' % (vip if vip is not None else '', interface))
    if not isinstance(interface_ipv4, dict) or not _ipv4(interface_ipv4.get('address') or '') \
            or not interface_ipv4.get('netmask'):
        raise HAPlanError('interface %r of %s has no IPv4 address: set ha_loadbalancer_interface to the interface '
                          'that carries the control-plane network' % (interface, host))
    try:
        network = ipaddress.IPv4Network('%s/%s' % (interface_ipv4['address'], interface_ipv4['netmask']), strict=False)
    except ValueError:
        raise HAPlanError('interface %r of %s has an unusable IPv4 netmask %r' % (interface, host, interface_ipv4['netmask']))
    reserved = (network.network_address, network.broadcast_address) if network.prefixlen < 31 else ()
    if vip_address not in network or vip_address in reserved:
        raise HAPlanError('ha_loadbalancer_vip %s is not a host address in %s, the subnet of %s on %s: choose a free '
                          'address in that subnet, or set ha_loadbalancer_interface to the interface whose subnet '
                          'holds it' % (vip_address, network, interface, host))
    if str(vip_address) in seen:
        raise HAPlanError('ha_loadbalancer_vip %s is the address of %s: the VIP must be a free address that no node '
                          'holds' % (vip_address, seen[str(vip_address)]))

    return {
        'position': position,
        'priority': priority_top - priority_step * position,
        'check_weight': -weight,
        'unicast_src_ip': own,
        'unicast_peers': [a for a in addresses if a != own],
        'members': [{'name': n, 'address': a, 'priority': priority_top - priority_step * i}
                    for i, (n, a) in enumerate(zip(names, addresses))],
        'vip': str(vip_address),
        'vip_prefix': network.prefixlen,
        'interface': interface,
        'virtual_router_id': virtual_router_id,
    }
