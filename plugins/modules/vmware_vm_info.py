#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: vmware_vm_info
short_description: Read one vSphere VM (or the VMs of a folder)
version_added: 0.1.0
description:
  - Reports a VM's identity, hardware, devices (disks by controller and unit, NICs, CD drives), guest IP addresses
    and snapshot tree, read in one C(RetrievePropertiesEx) call after the lookup.
  - Finding a VM by name costs the same number of calls whatever the number of VMs (one container view and one
    property read of the names); by UUID it is one C(FindByUuid), by MoID none.
extends_documentation_fragment:
  - virtops.compute.vsphere
  - virtops.compute.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
options:
  name:
    description: The VM's name. Two VMs with this name are an error naming both.
    type: str
  uuid:
    description: The VM's instance or BIOS UUID.
    type: str
  moid:
    description: The VM's managed object id, for example V(vm-42).
    type: str
  folder:
    description:
      - VM folder (absolute inventory path, path relative to the datacenter's VM folder, or MoID). With O(name) it
        narrows the search; alone, every VM directly in the folder is reported in RV(vms).
    type: str
  datacenter:
    description: Datacenter name, when the inventory has more than one.
    type: str
  diagnostics:
    description:
      - Add a C(diagnostics) key to RV(vm) from C(summary.quickStats) (C(overallCpuUsage), C(guestMemoryUsage),
        C(hostMemoryUsage), C(uptimeSeconds) ...) and the runtime maxima. Values the server leaves unset are null.
    type: bool
    default: false
  console:
    description:
      - Add a C(console) key to RV(vm), a console ticket from C(AcquireTicket(webmks)), else C(AcquireMksTicket).
      - When the server supports neither, that key is null and C(console_unavailable_reason) says why
        (vcsim 0.24.2 answers C(MethodNotFound) to both).
    type: bool
    default: false
author:
  - virtops.compute developers (@virtops)
"""

EXAMPLES = r"""
- name: Read a VM with its quick stats
  virtops.compute.vmware_vm_info:
    name: web01
    diagnostics: true
  delegate_to: localhost
  register: web01

- name: Every VM in a folder
  virtops.compute.vmware_vm_info:
    folder: /DC0/vm/web
  delegate_to: localhost
"""

RETURN = r"""
vm:
  description:
    - The VM. Keys include C(name), C(moid), C(uuid), C(instance_uuid), C(power_state) (running, halted, suspended),
      C(hardware), C(disks) (C(controller_bus), C(unit_number), C(size) in bytes, C(datastore), C(file),
      C(provisioning)), C(networks) (C(device), C(mac), C(portgroup), C(connected), C(ipv4), C(ipv6)), C(cdroms),
      C(extra_config), C(ip), C(snapshots) (tree of C(id), C(name), C(description), C(create_time), C(state),
      C(children)) and C(current_snapshot).
  returned: when name, uuid or moid is given
  type: dict
vms:
  description: The VMs directly in O(folder), each as RV(vm).
  returned: when only folder is given
  type: list
  elements: dict
"""

from ansible_collections.virtops.compute.plugins.module_utils._vsphere.base import VSphereModule
from ansible_collections.virtops.compute.plugins.module_utils._vsphere.info_module import run_vmware_vm_info


class VMwareVMInfo(VSphereModule):
    argument_spec = {
        "name": {"type": "str"},
        "uuid": {"type": "str"},
        "moid": {"type": "str"},
        "folder": {"type": "str"},
        "datacenter": {"type": "str"},
        "diagnostics": {"type": "bool", "default": False},
        "console": {"type": "bool", "default": False},
    }
    module_kwargs = {"required_one_of": [["name", "uuid", "moid", "folder"]]}

    def run(self):
        return run_vmware_vm_info(self)


def main():
    VMwareVMInfo.main()


if __name__ == "__main__":
    main()
