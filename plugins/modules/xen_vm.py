#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: xen_vm
short_description: Desired state of one XenServer/XCP-ng VM
version_added: 0.1.0
description:
  - Creates a VM from a template (C(VM.clone), or C(VM.copy) to an SR, then C(VM.provision)) or from scratch,
    reconfigures it, and destroys it, on a XenServer or XCP-ng pool through XenAPI.
  - The module reads the VM and its devices in one call, compares them with the desired state and applies only the
    differences. Check mode and C(--diff) come from the same comparison.
  - Changes that xapi only allows on a halted VM (vCPUs, memory, firmware, cores per socket, template flag, new CD
    drives on a running VM) fail with a list of those changes unless O(allow_power_cycling=true) or
    O(power_state=halted).
  - Disks and NICs are addressed by their device number, never by list position. A new disk, CD drive or config
    drive at a device number another device holds is refused before any change, in check mode too.
  - A step that fails part-way through an update undoes the steps applied before it (newest first) and restores
    the power state; the result reports C(changed), RV(applied), RV(rolled_back) and RV(not_undone) (changes with
    no inverse, such as a grown or removed disk).
extends_documentation_fragment:
  - virtops.compute.wait_for_ip
  - virtops.compute.xenapi
  - virtops.compute.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
options:
  name:
    description:
      - The VM's name (C(name_label)). Required to create a VM.
      - Two VMs with this name are an error that names both uuids; use O(uuid) then.
    type: str
  uuid:
    description:
      - The VM's uuid; takes precedence over O(name) for finding the VM.
      - A uuid that matches no VM is an error, in check mode too; it never creates a VM (a uuid cannot be chosen).
      - With O(name) as well, a VM found by uuid whose name differs is renamed to O(name) (shown in the diff).
    type: str
  state:
    description:
      - V(present) creates or updates the VM; V(absent) halts it (clean, then hard after O(shutdown_timeout)) and
        destroys it with its own disks (not shared disks or ISOs).
    type: str
    choices: [ present, absent ]
    default: present
  power_state:
    description:
      - The power state the VM should end in. Omitted leaves the power state alone (a new VM stays halted).
    type: str
    choices: [ running, halted, paused, suspended ]
  template:
    description:
      - Name or uuid of the template to create the VM from.
      - V(none) creates an empty VM from scratch. A new VM needs O(template) or a O(disks) list, so a mistyped
        O(name) fails with an error naming O(template) instead of creating an empty VM.
    type: str
  sr:
    description:
      - Name or uuid of an SR. With O(template), the template is copied to this SR (C(VM.copy)) instead of
        cloned; it is also the SR of new disks and the config drive that do not name one.
      - The disks a template describes in C(other_config:disks) (stock templates say C(sr=""), which
        C(VM.provision) refuses) are provisioned on this SR; without it, on the SR the template names if it
        exists, else on the pool's default SR. When the pool has no default SR, the task fails before any change
        and asks for O(sr).
    type: str
  description:
    description: The VM's description.
    type: str
  vcpus:
    description: Number of virtual CPUs (at startup and maximum).
    type: int
  cores_per_socket:
    description: Cores per socket presented to the guest; O(vcpus) must be a multiple of it.
    type: int
  memory:
    description:
      - Memory, as a number of MiB or with a binary unit such as V(4GiB) or V(512MiB). Static and dynamic limits
        are set to this value.
    type: raw
  boot:
    description: Firmware and boot order.
    type: dict
    suboptions:
      firmware:
        description: V(bios) or V(uefi).
        type: str
        choices: [ bios, uefi ]
      order:
        description: Boot order as letters, C(c) disk, C(d) CD, C(n) network, e.g. V(cdn).
        type: str
  home_server:
    description: Name or uuid of the host the VM prefers to start on (C(affinity)).
    type: str
  is_template:
    description: Turn the VM into a template (or back).
    type: bool
  tags:
    description: The VM's tags, exactly. V([]) removes all tags.
    type: list
    elements: str
  other_config:
    description: Keys to set in C(other_config); other keys are left alone.
    type: dict
  platform:
    description: Keys to set in C(platform); other keys are left alone.
    type: dict
  xenstore_data:
    description:
      - Keys to set in C(xenstore_data), the metadata channel the guest reads (for example C(vm-data/...)).
    type: dict
  bootable:
    description:
      - V(false) blocks the C(start) operation (nova's C(set_bootable)); V(true) unblocks it.
    type: bool
  disks:
    description:
      - Disks by C(userdevice). A disk that exists is grown to O(disks[].size) when smaller (shrinking is an
        error) and renamed; a missing one is created (hot-plugged when the VM runs).
    type: list
    elements: dict
    suboptions:
      userdevice:
        description: The disk's device number (0 is the first disk).
        type: int
        required: true
      size:
        description: Size as a number of GiB or with a unit (V(20GiB), V(512MiB)). Required for a new disk.
        type: raw
      sr:
        description: Name or uuid of the SR for a new disk (default O(sr), else the SR of the VM's first disk, else the pool's default SR).
        type: str
      name:
        description: The disk's name.
        type: str
      bootable:
        description: Whether the disk's VBD is bootable.
        type: bool
  remove_unmanaged_disks:
    description: Remove disks whose C(userdevice) is not listed in O(disks) (with their VDIs unless shared).
    type: bool
    default: false
  networks:
    description: NICs by device index. A NIC whose network, MAC or MTU differs is replaced.
    type: list
    elements: dict
    suboptions:
      device:
        description: Device index (0 is the first NIC).
        type: int
        required: true
      network:
        description: Name or uuid of the network.
        type: str
        required: true
      mac:
        description: MAC address; omitted lets xapi choose one (and keeps the current one).
        type: str
      mtu:
        description: MTU of the NIC.
        type: int
  remove_unmanaged_networks:
    description: Remove NICs whose device is not listed in O(networks).
    type: bool
    default: false
  cdrom:
    description: A CD drive with an ISO, or empty.
    type: dict
    suboptions:
      iso:
        description: Name or uuid of an ISO on an ISO SR; omitted or empty means an empty drive.
        type: str
      userdevice:
        description: Device number of the CD drive.
        type: int
        default: 3
  cloud_init:
    description:
      - A config drive (nova's C(generate_configdrive)) built from these files, uploaded to a VDI through
        C(/import_raw_vdi) and attached as a CD. It is rebuilt only when its content changes (tracked by a
        sha256 in the VDI's C(other_config)).
    type: dict
    suboptions:
      user_data:
        description: The user data (for example a C(#cloud-config) document).
        type: str
      meta_data:
        description: Meta data; V(instance-id) and V(local-hostname) default to the VM's uuid and name.
        type: raw
      network_config:
        description: Network configuration (cloud-init network config v1 or v2).
        type: raw
      format:
        description: V(nocloud) (volume C(cidata)) or V(configdrive) (OpenStack layout, volume C(config-2)).
        type: str
        choices: [ nocloud, configdrive ]
        default: nocloud
      userdevice:
        description: Device number of the config drive's CD.
        type: int
        default: 4
      sr:
        description: Name or uuid of the SR for the config drive VDI.
        type: str
  allow_power_cycling:
    description:
      - Let the module shut the VM down cleanly (hard after O(shutdown_timeout)), apply changes that need a
        halted VM and restore its power state. Without it such changes fail before anything changes.
      - The power state is restored on failure too, after the applied changes were undone; when the restore
        itself fails the error is RV(error_code=POWER_RESTORE_FAILED) with the VM's current RV(power_state).
      - Growing a disk of a running VM needs a halt unless the disk's SR can resize a disk in use (the VDI allows
        C(resize_online); the stock LVM, EXT and NFS drivers cannot). Adding, replacing or removing disks and NICs
        of a running HVM guest without PV drivers needs a halt too (no hot-plug).
    type: bool
    default: false
  shutdown_timeout:
    description: Seconds to wait for a clean shutdown before a hard one.
    type: int
    default: 120
  keep_disks:
    description: With O(state=absent), keep the VM's disks.
    type: bool
    default: false
  timeout:
    description: Seconds to wait for each XenAPI task (clone, copy, start ...).
    type: int
    default: 600
  read_scope:
    description:
      - How the module reads the current state.
      - V(pool) reads the pool's VMs, disks, NICs, networks and SRs in one C(event.from) call; a run that changes
        nothing costs three XenAPI calls (login, read, logout), but the payload grows with the pool (about 9 KB
        per VM; 47 MB at 5,000 VMs).
      - V(vm) asks xapi for the VM by name or uuid, then reads only its own devices; five calls whatever the
        size of the pool. Use it for pools of more than a few hundred VMs. Creating a VM still reads the pool
        (to find the template).
    type: str
    choices: [ pool, vm ]
    default: pool
author:
  - virtops.compute developers (@virtops)
"""

EXAMPLES = r"""
- name: A web server from a template, with a config drive, running, and its address
  virtops.compute.xen_vm:
    hostname: https://pool1.example.com
    username: root
    password: "{{ xen_password }}"
    name: web01
    template: Debian Bookworm 12
    vcpus: 2
    memory: 2GiB
    disks:
      - userdevice: 0
        size: 20GiB
    networks:
      - device: 0
        network: Pool-wide network associated with eth0
    cloud_init:
      user_data: |
        #cloud-config
        packages: [nginx]
    power_state: running
    wait_for_ip:
      family: ipv4
  delegate_to: localhost

- name: Grow a disk and add memory, allowing a clean shutdown and restart
  virtops.compute.xen_vm:
    name: web01
    memory: 4GiB
    disks:
      - userdevice: 0
        size: 40GiB
    allow_power_cycling: true
  delegate_to: localhost

- name: Remove the VM and its own disks
  virtops.compute.xen_vm:
    name: web01
    state: absent
  delegate_to: localhost
"""

RETURN = r"""
vm:
  description: The VM as M(virtops.compute.xen_vm_info) reports it (predicted in check mode; empty when absent).
  returned: always
  type: dict
  sample: {"name": "web01", "uuid": "5b0b7d6e-...", "power_state": "running", "vcpus": 2, "memory_mib": 2048,
           "disks": [{"userdevice": 0, "size": 21474836480, "sr": "Local storage"}],
           "networks": [{"device": 0, "network": "Pool-wide network associated with eth0", "mac": "..."}],
           "ip": "192.0.2.10"}
changes:
  description: The operations, in order, that were applied (or would be in check mode).
  returned: always
  type: list
  elements: dict
  sample: [{"operation": "create", "description": "clone template 'Debian Bookworm 12' as 'web01'"}]
error_code:
  description: On failure, a stable machine-readable error name (the API's own code where it gave one).
  returned: failure
  type: str
  sample: POWER_RESTORE_FAILED
failed_step:
  description: On failure, the step that failed (an operation name of RV(changes)).
  returned: failure, when a step was running
  type: str
  sample: set_memory
applied:
  description:
    - On failure, the steps applied before the failure, in order. A failed run reports C(changed=true) when this
      list is not empty, even when every step was rolled back; the message says what was applied and undone.
  returned: failure
  type: list
  elements: str
  sample: ["shutdown", "set_vcpus"]
rolled_back:
  description: On failure, the inverses run to undo the applied steps, newest first.
  returned: failure
  type: list
  elements: str
  sample: ["restore vcpus 2", "restore power state running"]
not_undone:
  description: On failure, applied changes that have no inverse and stay in place (for example a grown disk).
  returned: failure, when there are any
  type: list
  elements: str
  sample: ["grow disk 0 10GiB -> 12GiB (online)"]
power_state:
  description:
    - With RV(error_code=POWER_RESTORE_FAILED), the power state the VM is in now (the restore after a power cycle
      or a rolled-back transition failed); RV(expected_power_state) is the one it had before the run.
  returned: failure, when the power state could not be restored
  type: str
  sample: halted
expected_power_state:
  description: With RV(error_code=POWER_RESTORE_FAILED), the power state the VM had before the run.
  returned: failure, when the power state could not be restored
  type: str
  sample: running
"""

from ansible_collections.virtops.compute.plugins.module_utils._common.net import WAIT_FOR_IP_SPEC
from ansible_collections.virtops.compute.plugins.module_utils._xenapi.base import XenAPIModule
from ansible_collections.virtops.compute.plugins.module_utils._xenapi.vm_module import run_xen_vm

DISK = {
    "userdevice": {"type": "int", "required": True},
    "size": {"type": "raw"},
    "sr": {"type": "str"},
    "name": {"type": "str"},
    "bootable": {"type": "bool"},
}
NIC = {
    "device": {"type": "int", "required": True},
    "network": {"type": "str", "required": True},
    "mac": {"type": "str"},
    "mtu": {"type": "int"},
}


class XenVM(XenAPIModule):
    argument_spec = {
        "name": {"type": "str"},
        "uuid": {"type": "str"},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "power_state": {"type": "str", "choices": ["running", "halted", "paused", "suspended"]},
        "template": {"type": "str"},
        "sr": {"type": "str"},
        "description": {"type": "str"},
        "vcpus": {"type": "int"},
        "cores_per_socket": {"type": "int"},
        "memory": {"type": "raw"},
        "boot": {
            "type": "dict",
            "options": {"firmware": {"type": "str", "choices": ["bios", "uefi"]}, "order": {"type": "str"}},
        },
        "home_server": {"type": "str"},
        "is_template": {"type": "bool"},
        "tags": {"type": "list", "elements": "str"},
        "other_config": {"type": "dict"},
        "platform": {"type": "dict"},
        "xenstore_data": {"type": "dict"},
        "bootable": {"type": "bool"},
        "disks": {"type": "list", "elements": "dict", "options": DISK},
        "remove_unmanaged_disks": {"type": "bool", "default": False},
        "networks": {"type": "list", "elements": "dict", "options": NIC},
        "remove_unmanaged_networks": {"type": "bool", "default": False},
        "cdrom": {"type": "dict", "options": {"iso": {"type": "str"}, "userdevice": {"type": "int", "default": 3}}},
        "cloud_init": {
            "type": "dict",
            "options": {
                "user_data": {"type": "str"},
                "meta_data": {"type": "raw"},
                "network_config": {"type": "raw"},
                "format": {"type": "str", "choices": ["nocloud", "configdrive"], "default": "nocloud"},
                "userdevice": {"type": "int", "default": 4},
                "sr": {"type": "str"},
            },
        },
        "wait_for_ip": WAIT_FOR_IP_SPEC,
        "allow_power_cycling": {"type": "bool", "default": False},
        "shutdown_timeout": {"type": "int", "default": 120},
        "keep_disks": {"type": "bool", "default": False},
        "timeout": {"type": "int", "default": 600},
        "read_scope": {"type": "str", "choices": ["pool", "vm"], "default": "pool"},
    }
    module_kwargs = {"required_one_of": [["name", "uuid"]]}

    def run(self):
        return run_xen_vm(self)


def main():
    XenVM.main()


if __name__ == "__main__":
    main()
