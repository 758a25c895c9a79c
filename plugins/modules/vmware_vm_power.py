#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: vmware_vm_power
short_description: Power actions and rescue mode for a vSphere VM
version_added: 0.1.0
description:
  - Puts an existing VM into a power state, restarts or resets it, or boots a rescue VM with its disk and back,
    through the vSphere API (nova's vmwareapi C(power_on), C(power_off), C(suspend), C(reboot), C(rescue) and
    C(unrescue)).
  - V(running), V(halted) and V(suspended) are target states; a VM that is already there is left alone
    (C(changed=false)). V(restarted) and V(reset) are actions and always change.
  - V(rescued) powers the VM off, creates C(<name>-rescue) (a clone of O(rescue_template), or a new VM booting
    O(rescue_image)) in the VM's folder and resource pool, attaches the VM's first disk to it as an extra disk that
    is not booted (and never deleted), marks both VMs in C(extraConfig) (C(virtops.rescue_of) on the rescue VM,
    C(virtops.rescued_by) on the VM, each holding the other's instance UUID) and powers the rescue VM on. A failure
    on the way destroys the rescue VM (detaching the disk first) and powers the VM on again. A VM that is already
    rescued is left alone, apart from putting both power states right.
  - V(unrescued) powers the rescue VM off, detaches the VM's disk from it (a device removal with no file
    operation), destroys it, removes the mark and powers the VM on. A VM that is not rescued is left alone.
  - Check mode predicts C(changed), C(diff) and the VM without changing anything.
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
    description: The VM's name. Two VMs with this name are an error; give O(folder), O(uuid) or O(moid) then.
    type: str
  uuid:
    description: The VM's instance or BIOS UUID; takes precedence over O(name).
    type: str
  moid:
    description: The VM's managed object id (C(vm-42)); takes precedence over O(uuid) and O(name).
    type: str
  folder:
    description: The VM folder holding the VM named O(name) (C(/DC0/vm/web) or relative to the datacenter's C(vm)).
    type: str
  datacenter:
    description: Only look for the VM named O(name) in this datacenter.
    type: str
  state:
    description:
      - V(running), V(halted) and V(suspended) are the power states the VM should be in. V(halted) shuts the guest
        down (C(ShutdownGuest)) and powers the VM off hard when that is unavailable or takes longer than O(timeout).
      - V(restarted) reboots the guest (C(RebootGuest)), resetting the VM (C(ResetVM_Task)) where the guest or the
        server cannot; C(restart_method) reports which. V(reset) always resets. Both need a running VM (error code
        C(VM_BAD_POWER_STATE)).
      - V(rescued) and V(unrescued) enter and leave rescue mode. A rescued VM cannot be powered on with V(running)
        or V(suspended) (error code C(VM_RESCUED)).
    type: str
    required: true
    choices: [ running, halted, suspended, restarted, reset, rescued, unrescued ]
  force:
    description:
      - With V(halted) or V(rescued), power the VM off hard at once instead of a guest shutdown first. With
        V(restarted), reset the VM instead of a guest reboot.
    type: bool
    default: false
  timeout:
    description: Seconds to wait for a guest shutdown before powering the VM off hard; V(0) powers off hard at once.
    type: int
    default: 120
  task_timeout:
    description: Seconds to wait for each vSphere task (power on, clone, reconfigure, destroy ...).
    type: int
    default: 300
  rescue_template:
    description:
      - Name, inventory path, UUID or moid of the template (or powered-off VM) the rescue VM is cloned from.
      - O(state=rescued) needs this or O(rescue_image).
    type: str
  rescue_image:
    description:
      - Datastore path of an ISO image (C([datastore1] iso/rescue.iso)) the rescue VM boots from.
      - With O(rescue_template), the clone's first CD-ROM gets the image; without it, a new VM with the VM's guest
        type, CPUs and memory, a paravirtual SCSI controller and a CD-ROM is created on the VM's datastore.
    type: str
notes:
  - O(wait_for_ip) waits once the action is done and the VM is running (V(running), V(restarted), V(reset),
    V(unrescued), or a VM that was running already); RV(vm) then holds the address. A timeout fails the task after
    the power action was applied (error code C(TASK_TIMEOUT)). Check mode does not wait.
  - The rescue VM keeps the network adapters of O(rescue_template); one created for O(rescue_image) has none.
author:
  - virtops.compute developers (@virtops)
"""

EXAMPLES = r"""
- name: Power on a VM
  virtops.compute.vmware_vm_power:
    hostname: vcenter.example.com
    username: administrator@vsphere.local
    password: "{{ vcenter_password }}"
    name: web01
    state: running
  delegate_to: localhost

- name: Shut it down, hard after one minute
  virtops.compute.vmware_vm_power:
    name: web01
    state: halted
    timeout: 60
  delegate_to: localhost

- name: Boot a rescue system with web01's disk as an extra disk
  virtops.compute.vmware_vm_power:
    name: web01
    state: rescued
    rescue_template: rescue-linux
  delegate_to: localhost

- name: Leave rescue mode and power web01 on again
  virtops.compute.vmware_vm_power:
    name: web01
    state: unrescued
  delegate_to: localhost
"""

RETURN = r"""
vm:
  description: The VM as M(virtops.compute.vmware_vm_info) reports it, after the action (predicted in check mode).
  returned: always
  type: dict
  sample: {"name": "web01", "moid": "vm-42", "instance_uuid": "5b0b7d6e-...", "power_state": "running"}
changes:
  description: The operations, in order, that were applied (or would be in check mode).
  returned: always
  type: list
  elements: dict
  sample: [{"operation": "power_off", "description": "shut down the guest (hard power off after 120s)"}]
diff:
  description: The VM's power state and its rescue VM before and after.
  returned: always
  type: dict
  sample: {"before": {"power_state": "running", "rescue_vm": null},
           "after": {"power_state": "halted", "rescue_vm": {"name": "web01-rescue", "power_state": "running"}}}
rescue_vm:
  description: With O(state=rescued) the rescue VM (predicted in check mode); with O(state=unrescued) empty.
  returned: when state is rescued or unrescued
  type: dict
  sample: {"name": "web01-rescue", "power_state": "running", "extra_config": {"virtops.rescue_of": "5b0b7d6e-..."}}
restart_method:
  description: How the VM was restarted, V(guest) (C(RebootGuest)) or V(reset) (C(ResetVM_Task)).
  returned: when state is restarted or reset and the VM was restarted
  type: str
  sample: reset
halt_method:
  description: How the VM was powered off, V(guest) (C(ShutdownGuest)) or V(hard) (C(PowerOffVM_Task)).
  returned: when the VM was powered off
  type: str
  sample: guest
notes:
  description: Fallbacks taken, such as a reset because VMware Tools do not run in the guest (C(ToolsUnavailable)).
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
from ansible_collections.virtops.compute.plugins.module_utils._vsphere.power_module import run_vmware_vm_power


class VMwareVMPower(VSphereModule):
    argument_spec = {
        "name": {"type": "str"},
        "uuid": {"type": "str"},
        "moid": {"type": "str"},
        "folder": {"type": "str"},
        "datacenter": {"type": "str"},
        "state": {
            "type": "str",
            "required": True,
            "choices": ["running", "halted", "suspended", "restarted", "reset", "rescued", "unrescued"],
        },
        "force": {"type": "bool", "default": False},
        "timeout": {"type": "int", "default": 120},
        "task_timeout": {"type": "int", "default": 300},
        "rescue_template": {"type": "str"},
        "rescue_image": {"type": "str"},
        "wait_for_ip": WAIT_FOR_IP_SPEC,
    }
    module_kwargs = {
        "required_one_of": [["name", "uuid", "moid"]],
        "required_if": [["state", "rescued", ["rescue_template", "rescue_image"], True]],
    }

    def run(self):
        return run_vmware_vm_power(self)


def main():
    VMwareVMPower.main()


if __name__ == "__main__":
    main()
