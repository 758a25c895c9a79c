#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: xen_vm_info
short_description: Facts and diagnostics of XenServer/XCP-ng VMs
version_added: 0.1.0
description:
  - Reports VMs, with their disks, CD drive, NICs, addresses and snapshots, as M(virtops.compute.xen_vm) reports
    them. Never changes anything.
  - Every VM, device, network, SR, host and guest metrics record is read in one XenAPI call (C(event.from)) and
    filtered in memory; the run makes three XenAPI calls in all (login, read, logout).
  - The criteria O(name), O(uuid), O(tags) and O(filter) combine (a VM must match all given); without any, every VM
    is reported. Templates, snapshots and control domains are left out unless O(include_templates) or
    O(include_snapshots) is set (control domains always are).
  - With O(diagnostics=true) each VM also gets nova-style diagnostics (nova's C(get_instance_diagnostics)),
    per-vCPU utilisation, memory, uptime, per-disk and per-NIC I/O rates and the VNC console location. These come
    from C(VM_metrics) and C(console) records (read in the same call) and the VM's RRD data sources, which cost
    one C(VM.get_data_sources) call per running or paused VM.
extends_documentation_fragment:
  - virtops.compute.xenapi
  - virtops.compute.attributes
attributes:
  check_mode:
    support: full
    details: The module never changes anything, so it runs the same in check mode.
  diff_mode:
    support: none
options:
  name:
    description: Only VMs with this name (C(name_label)).
    type: str
  uuid:
    description: Only the VM with this uuid.
    type: str
  tags:
    description: Only VMs that have all of these tags.
    type: list
    elements: str
  filter:
    description:
      - Fields of the xapi VM record and the values they must have, for example C(power_state) V(Running), or
        C(other_config) with a map of keys and values (see the examples).
      - A map value matches when the record's map contains those keys with those values; a list value when the
        record's set contains every element; booleans and numbers compare with xapi's encodings; C(power_state)
        compares case-insensitively. An unknown field is an error.
    type: dict
  include_templates:
    description: Report templates too.
    type: bool
    default: false
  include_snapshots:
    description: Report snapshots too.
    type: bool
    default: false
  diagnostics:
    description:
      - Add a C(diagnostics) entry to every VM. xapi keeps rates (per second), not running totals, and no packet
        counts; values xapi does not report (and every rate of a halted VM) are V(null).
    type: bool
    default: false
author:
  - virtops.compute developers (@virtops)
"""

EXAMPLES = r"""
- name: One VM by name
  virtops.compute.xen_vm_info:
    hostname: https://pool1.example.com
    username: root
    password: "{{ xen_password }}"
    name: web01
  delegate_to: localhost
  register: web

- name: Running VMs tagged web, with diagnostics
  virtops.compute.xen_vm_info:
    tags: [web]
    filter:
      power_state: Running
    diagnostics: true
  delegate_to: localhost
  register: running_web

- name: VMs by an other_config key
  virtops.compute.xen_vm_info:
    filter:
      other_config:
        environment: prod
  delegate_to: localhost
"""

RETURN = r"""
vms:
  description: The matching VMs, sorted by name, each as M(virtops.compute.xen_vm) returns C(vm).
  returned: always
  type: list
  elements: dict
  sample: [{"name": "web01", "uuid": "5b0b7d6e-...", "power_state": "running", "vcpus": 2, "memory_mib": 2048,
            "ip": "192.0.2.10", "tags": ["web"]}]
  contains:
    diagnostics:
      description:
        - With O(diagnostics=true). C(state), C(driver), C(uptime) (seconds, V(null) unless running),
          C(num_cpus), C(num_disks), C(num_nics), C(cpu_details) (C(id), C(utilisation) as a fraction 0-1),
          C(memory_details) (C(maximum), C(actual), C(target), C(internal_free), in bytes), C(disk_details)
          (C(userdevice), C(device), C(vdi_uuid), C(read_bytes_per_sec), C(write_bytes_per_sec),
          C(read_requests_per_sec), C(write_requests_per_sec)), C(nic_details) (C(device), C(mac_address),
          C(network), C(rx_bytes_per_sec), C(tx_bytes_per_sec), C(rx_errors), C(tx_errors)) and C(console)
          (C(protocol) V(rfb), C(location), C(uuid); V(null) unless the VM runs).
      returned: when O(diagnostics=true)
      type: dict
      sample: {"state": "running", "uptime": 3600, "num_cpus": 2,
               "cpu_details": [{"id": 0, "utilisation": 0.05}, {"id": 1, "utilisation": 0.06}],
               "memory_details": {"maximum": 2147483648, "actual": 2147483648, "target": 2147483648,
                                  "internal_free": 1073741824},
               "disk_details": [{"userdevice": 0, "device": "xvda", "read_bytes_per_sec": 4096.0,
                                 "write_bytes_per_sec": 2048.0}],
               "nic_details": [{"device": 0, "mac_address": "aa:00:00:00:01:00", "rx_bytes_per_sec": 1000.0,
                                "tx_bytes_per_sec": 500.0}],
               "console": {"protocol": "rfb", "location": "https://198.51.100.11/console?uuid=..."}}
"""

from ansible_collections.virtops.compute.plugins.module_utils._xenapi.base import XenAPIModule
from ansible_collections.virtops.compute.plugins.module_utils._xenapi.info_module import run_xen_vm_info


class XenVMInfo(XenAPIModule):
    argument_spec = {
        "name": {"type": "str"},
        "uuid": {"type": "str"},
        "tags": {"type": "list", "elements": "str"},
        "filter": {"type": "dict"},
        "include_templates": {"type": "bool", "default": False},
        "include_snapshots": {"type": "bool", "default": False},
        "diagnostics": {"type": "bool", "default": False},
    }

    def run(self):
        return run_xen_vm_info(self)


def main():
    XenVMInfo.main()


if __name__ == "__main__":
    main()
