#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: vmware_vm
short_description: Desired state of one vSphere VM
version_added: 0.1.0
description:
  - Creates a VM (C(CreateVM_Task)) or clones one from a VM or template (C(CloneVM_Task)), reconfigures it
    and destroys it, on vCenter or ESXi through the vSphere API.
  - The module reads the VM in one C(RetrievePropertiesEx) call, compares it with the desired state and applies all
    differences in one C(ReconfigVM_Task). Check mode and C(--diff) come from the same comparison; check mode never
    changes anything.
  - Changes vSphere only allows on a powered-off VM (CPU or memory without hot add, cores per socket, hot-add
    switches, MAC addresses, any change to a suspended VM) fail with a list of those changes unless
    O(allow_power_cycling=true) or O(power_state=halted).
  - Disks are addressed by SCSI controller bus and unit number, NICs by device index (device-key order), never by
    list position in the parameters.
  - A failed create or clone leaves no VM behind (the new VM is destroyed). A failed update reverts the
    reconfiguration (a second C(ReconfigVM_Task) with the previous values, removing added disks and NICs) and
    restores the power state; the result reports C(changed), RV(applied), RV(rolled_back) and RV(not_undone)
    (changes with no inverse, such as a grown or removed disk).
  - Check mode predicts a clone's own files (C(vmx_path) and disk files named after the new VM, as vSphere names
    them), not the source's.
extends_documentation_fragment:
  - virtops.compute.wait_for_ip
  - virtops.compute.vsphere
  - virtops.compute.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
options:
  name:
    description:
      - The VM's name. Required to create a VM. Two VMs with this name are an error naming both; use O(folder),
        O(uuid) or O(moid) then.
    type: str
  uuid:
    description:
      - The VM's instance UUID or BIOS UUID (C(SearchIndex.FindByUuid)); takes precedence over O(name).
      - A uuid (or O(moid)) that matches no VM is an error, in check mode too; it never creates a VM.
      - With O(name) as well, a VM found by uuid or MoID whose name differs is renamed to O(name).
    type: str
  moid:
    description: The VM's managed object id (for example V(vm-42)); takes precedence over O(uuid) and O(name).
    type: str
  folder:
    description:
      - VM folder, as an absolute inventory path (V(/DC0/vm/web)), a path relative to the datacenter's VM folder
        (V(web)), or a MoID. Narrows the search by name and is where a new VM goes (default the datacenter's VM folder).
    type: str
  datacenter:
    description: Datacenter name; needed only when the inventory has more than one.
    type: str
  state:
    description:
      - V(present) creates or updates the VM; V(absent) powers it off (guest shutdown, hard after
        O(shutdown_timeout)) and destroys it with its files (C(Destroy_Task)).
    type: str
    choices: [ present, absent ]
    default: present
  power_state:
    description:
      - The power state the VM ends in (V(running) = poweredOn, V(halted) = poweredOff, V(suspended)), named as in
        M(virtops.compute.xen_vm). Omitted leaves the power state alone (a new VM stays halted).
    type: str
    choices: [ running, halted, suspended ]
  template:
    description:
      - Name, MoID or inventory path of the VM or template to clone a new VM from.
      - V(none) creates an empty VM. A new VM needs O(template) or a O(disks) list, so a mistyped O(name) fails
        with an error naming O(template) instead of creating an empty VM.
    type: str
  cluster:
    description: Cluster whose root resource pool receives a new VM.
    type: str
  host:
    description: ESXi host for a new VM (its compute resource's root pool is used unless O(resource_pool) or O(cluster)).
    type: str
  resource_pool:
    description: Resource pool for a new VM (name, MoID or inventory path).
    type: str
  datastore:
    description:
      - Datastore of a new VM (required unless the datacenter has only one, or O(template) is set) and default
        datastore of new disks.
    type: str
  guest_id:
    description: Guest OS identifier of a new VM created without O(template).
    type: str
    default: otherGuest64
  hardware:
    description: CPU and memory.
    type: dict
    suboptions:
      num_cpus:
        description: Number of virtual CPUs.
        type: int
      cores_per_socket:
        description: Cores per socket; O(hardware.num_cpus) must be a multiple of it.
        type: int
      memory:
        description: Memory as a number of MiB or with a binary unit (V(2GiB), V(512MiB)); a multiple of 4MiB.
        type: raw
      cpu_hot_add:
        description: Allow adding CPUs while the VM runs.
        type: bool
      memory_hot_add:
        description: Allow adding memory while the VM runs.
        type: bool
  disks:
    description:
      - Disks by SCSI controller bus and unit number. An existing disk grows to O(disks[].size) when smaller
        (shrinking is an error); a missing one is created (with a paravirtual SCSI controller if the bus has none).
    type: list
    elements: dict
    suboptions:
      controller_bus:
        description: Bus number of the SCSI controller (0-3).
        type: int
        default: 0
      unit_number:
        description: Unit number on the controller (0-15 except 7).
        type: int
        required: true
      size:
        description: Size as a number of GiB or with a unit (V(20GiB), V(512MiB)). Required for a new disk.
        type: raw
      provisioning:
        description: Provisioning of a new disk. Changing it on an existing disk is an error.
        type: str
        choices: [ thin, thick, eager_zeroed ]
      datastore:
        description: Datastore of a new disk (default O(datastore), else the VM's own datastore).
        type: str
  remove_unmanaged_disks:
    description: Remove (and delete the files of) disks that O(disks) does not list.
    type: bool
    default: false
  networks:
    description:
      - NICs by device index (their order by device key; new NICs come last, so the indices of new NICs must follow
        the existing ones). A NIC on another portgroup is moved; a different MAC is set (needs a powered-off VM).
    type: list
    elements: dict
    suboptions:
      device:
        description: Device index (0 is the first NIC).
        type: int
        required: true
      portgroup:
        description: Name, MoID or inventory path of a standard network or distributed portgroup.
        type: str
        required: true
      adapter:
        description: Adapter type of a new NIC (default V(vmxnet3)); changing it on an existing NIC is an error.
        type: str
        choices: [ vmxnet3, e1000e, e1000 ]
      mac:
        description: Static MAC address; omitted lets vSphere generate one (and keeps the current one).
        type: str
  remove_unmanaged_networks:
    description: Remove NICs that O(networks) does not list.
    type: bool
    default: false
  cdrom:
    description: The first CD drive (added on a free IDE slot when the VM has none).
    type: dict
    suboptions:
      iso:
        description: ISO as a datastore path (V([LocalDS_0] iso/debian.iso)); omitted or empty means an empty drive.
        type: str
  annotation:
    description: The VM's notes.
    type: str
  extra_config:
    description:
      - Advanced settings (VMX keys) to set; keys not listed are left alone. An empty value removes a key.
    type: dict
  cloud_init:
    description:
      - Cloud-init data for its VMware datasource, in C(extraConfig) (C(guestinfo.userdata), C(guestinfo.metadata),
        each with C(.encoding=base64)) - the vSphere equivalent of nova's config drive.
      - O(cloud_init.meta_data) defaults C(instance-id) and C(local-hostname) to O(name);
        O(cloud_init.network_config) is put in the metadata as C(network).
    type: dict
    suboptions:
      user_data:
        description: The user data (for example a C(#cloud-config) document).
        type: str
      meta_data:
        description: Meta data (a dict, or a YAML/JSON string used as is).
        type: raw
      network_config:
        description: Network configuration (cloud-init network config v1 or v2).
        type: raw
  allow_power_cycling:
    description:
      - Let the module power the VM off (guest shutdown, hard after O(shutdown_timeout)), apply changes that need it
        off and restore its power state. Without it such changes fail before anything changes.
      - When a later step fails, the reconfiguration is reverted and the power state restored; when the restore
        itself fails the error is RV(error_code=POWER_RESTORE_FAILED) with the VM's current RV(power_state).
    type: bool
    default: false
  shutdown_timeout:
    description: Seconds to wait for a guest shutdown before a hard power off; V(0) powers off hard at once.
    type: int
    default: 120
  timeout:
    description: Seconds to wait for each vSphere task (clone, reconfigure, power ...).
    type: int
    default: 600
notes:
  - Placement options (O(cluster), O(host), O(resource_pool), O(datastore), O(template)) only apply when the VM is
    created; the module does not migrate VMs.
author:
  - virtops.compute developers (@virtops)
"""

EXAMPLES = r"""
- name: A web server cloned from a template, with cloud-init, running
  virtops.compute.vmware_vm:
    hostname: vcenter.example.com
    username: administrator@vsphere.local
    password: "{{ vcenter_password }}"
    name: web01
    template: debian-12-template
    cluster: Cluster1
    datastore: ssd01
    hardware:
      num_cpus: 2
      memory: 4GiB
    disks:
      - unit_number: 0
        size: 40GiB
    networks:
      - device: 0
        portgroup: VM Network
    cloud_init:
      user_data: |
        #cloud-config
        packages: [nginx]
    power_state: running
    wait_for_ip:
      family: ipv4
  delegate_to: localhost

- name: More memory, allowing a power cycle when hot add is off
  virtops.compute.vmware_vm:
    name: web01
    hardware:
      memory: 8GiB
    allow_power_cycling: true
  delegate_to: localhost

- name: Remove the VM and its files
  virtops.compute.vmware_vm:
    name: web01
    state: absent
  delegate_to: localhost
"""

RETURN = r"""
vm:
  description: The VM as M(virtops.compute.vmware_vm_info) reports it (predicted in check mode; empty when absent).
  returned: always
  type: dict
  sample: {"name": "web01", "moid": "vm-42", "power_state": "running",
           "hardware": {"num_cpus": 2, "memory_mib": 4096},
           "disks": [{"controller_bus": 0, "unit_number": 0, "size": 42949672960, "datastore": "ssd01"}],
           "networks": [{"device": 0, "portgroup": "VM Network", "mac": "00:50:56:aa:bb:cc"}]}
changes:
  description: The operations, in order, that were applied (or would be in check mode).
  returned: always
  type: list
  elements: dict
  sample: [{"operation": "clone", "description": "clone 'debian-12-template' as 'web01' into /DC0/vm"}]
notes:
  description: Fallbacks the module took (for example a hard power off because the guest could not shut down).
  returned: when there are any
  type: list
  elements: str
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
from ansible_collections.virtops.compute.plugins.module_utils._vsphere.base import VSphereModule
from ansible_collections.virtops.compute.plugins.module_utils._vsphere.vm_module import run_vmware_vm

HARDWARE = {
    "num_cpus": {"type": "int"},
    "cores_per_socket": {"type": "int"},
    "memory": {"type": "raw"},
    "cpu_hot_add": {"type": "bool"},
    "memory_hot_add": {"type": "bool"},
}
DISK = {
    "controller_bus": {"type": "int", "default": 0},
    "unit_number": {"type": "int", "required": True},
    "size": {"type": "raw"},
    "provisioning": {"type": "str", "choices": ["thin", "thick", "eager_zeroed"]},
    "datastore": {"type": "str"},
}
NIC = {
    "device": {"type": "int", "required": True},
    "portgroup": {"type": "str", "required": True},
    "adapter": {"type": "str", "choices": ["vmxnet3", "e1000e", "e1000"]},
    "mac": {"type": "str"},
}


class VMwareVM(VSphereModule):
    argument_spec = {
        "name": {"type": "str"},
        "uuid": {"type": "str"},
        "moid": {"type": "str"},
        "folder": {"type": "str"},
        "datacenter": {"type": "str"},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "power_state": {"type": "str", "choices": ["running", "halted", "suspended"]},
        "template": {"type": "str"},
        "cluster": {"type": "str"},
        "host": {"type": "str"},
        "resource_pool": {"type": "str"},
        "datastore": {"type": "str"},
        "guest_id": {"type": "str", "default": "otherGuest64"},
        "hardware": {"type": "dict", "options": HARDWARE},
        "disks": {"type": "list", "elements": "dict", "options": DISK},
        "remove_unmanaged_disks": {"type": "bool", "default": False},
        "networks": {"type": "list", "elements": "dict", "options": NIC},
        "remove_unmanaged_networks": {"type": "bool", "default": False},
        "cdrom": {"type": "dict", "options": {"iso": {"type": "str"}}},
        "annotation": {"type": "str"},
        "extra_config": {"type": "dict"},
        "cloud_init": {
            "type": "dict",
            "options": {"user_data": {"type": "str"}, "meta_data": {"type": "raw"}, "network_config": {"type": "raw"}},
        },
        "wait_for_ip": WAIT_FOR_IP_SPEC,
        "allow_power_cycling": {"type": "bool", "default": False},
        "shutdown_timeout": {"type": "int", "default": 120},
        "timeout": {"type": "int", "default": 600},
    }
    module_kwargs = {"required_one_of": [["name", "uuid", "moid"]]}

    def run(self):
        return run_vmware_vm(self)


def main():
    VMwareVM.main()


if __name__ == "__main__":
    main()
