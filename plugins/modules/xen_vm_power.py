#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: xen_vm_power
short_description: Power actions and rescue mode for a XenServer/XCP-ng VM
version_added: 0.1.0
description:
  - Puts an existing VM into a power state, restarts it, or boots it into rescue mode and back, through XenAPI
    (nova's C(power_on), C(power_off), C(reboot), C(pause), C(suspend), C(rescue) and C(unrescue)).
  - V(running), V(halted), V(paused) and V(suspended) are target states; a VM that is already there is left alone
    (C(changed=false)). V(restarted) always reboots the VM.
  - V(rescued) halts the VM, blocks its C(start) operation, clones O(rescue_template) as C(<name>-rescue)
    (provisioning its disks when it is a template that has some), attaches the VM's root disk (userdevice 0) to the
    rescue VM as userdevice 1 (the next free one if the rescue VM has a disk there), not bootable, connects the
    rescue VM to the VM's networks with the same MAC addresses and starts it. A failure on the way removes the
    rescue VM and restores the VM. A VM that already has a rescue VM is left alone.
  - V(unrescued) hard shuts down and destroys the rescue VM with its own disks, detaching but never destroying the
    VM's disk, unblocks C(start) and starts the VM. A VM without a rescue VM is left alone.
  - Check mode predicts C(changed), C(diff) and the VM without changing anything.
extends_documentation_fragment:
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
      - The VM's name (C(name_label)). Two VMs with this name are an error; use O(uuid) then.
    type: str
  uuid:
    description: The VM's uuid; takes precedence over O(name).
    type: str
  state:
    description:
      - V(running), V(halted), V(paused), V(suspended) are power states the VM should be in.
      - V(restarted) reboots a running VM; a VM that is not running is an error (code C(VM_BAD_POWER_STATE)),
        use V(running) to start it.
      - V(rescued) and V(unrescued) enter and leave rescue mode. A rescued VM cannot be started with
        V(running), V(paused) or V(suspended) (code C(VM_RESCUED)).
    type: str
    required: true
    choices: [ running, halted, paused, suspended, restarted, rescued, unrescued ]
  reboot_type:
    description:
      - V(soft) asks the guest to reboot (C(VM.clean_reboot)) and falls back to a hard reboot when that fails or
        takes longer than O(timeout), like nova; V(hard) resets the VM at once.
    type: str
    choices: [ soft, hard ]
    default: soft
  force:
    description:
      - With V(halted) or V(rescued), hard shut down the VM instead of a clean shutdown first. With V(restarted),
        hard reboot whatever O(reboot_type) says.
    type: bool
    default: false
  timeout:
    description: Seconds to wait for each XenAPI task (start, reboot, clone ...).
    type: int
    default: 300
  shutdown_timeout:
    description: Seconds to wait for a clean shutdown before a hard one.
    type: int
    default: 120
  rescue_template:
    description:
      - Name or uuid of the template (or halted VM) the rescue VM is cloned from. Required with O(state=rescued).
    type: str
author:
  - virtops.compute developers (@virtops)
"""

EXAMPLES = r"""
- name: Start a VM
  virtops.compute.xen_vm_power:
    hostname: https://pool1.example.com
    username: root
    password: "{{ xen_password }}"
    name: web01
    state: running
  delegate_to: localhost

- name: Reboot it, hard if the guest does not reboot within 2 minutes
  virtops.compute.xen_vm_power:
    name: web01
    state: restarted
    timeout: 120
  delegate_to: localhost

- name: Boot a rescue system with web01's root disk as its second disk
  virtops.compute.xen_vm_power:
    name: web01
    state: rescued
    rescue_template: Debian Bookworm 12
  delegate_to: localhost

- name: Leave rescue mode and start web01 again
  virtops.compute.xen_vm_power:
    name: web01
    state: unrescued
  delegate_to: localhost
"""

RETURN = r"""
vm:
  description: The VM as M(virtops.compute.xen_vm_info) reports it, after the action (predicted in check mode).
  returned: always
  type: dict
  sample: {"name": "web01", "uuid": "5b0b7d6e-...", "power_state": "running", "bootable": true}
changes:
  description: The operations, in order, that were applied (or would be in check mode).
  returned: always
  type: list
  elements: dict
  sample: [{"operation": "shutdown", "description": "shut down the VM cleanly (hard after 120s)"}]
diff:
  description: The VM's power state, start lock and rescue VM before and after.
  returned: always
  type: dict
  sample: {"before": {"power_state": "running", "start_blocked": null, "rescue_vm": null},
           "after": {"power_state": "halted", "start_blocked": null, "rescue_vm": null}}
rescue_vm:
  description: With O(state=rescued) the rescue VM (predicted in check mode); with O(state=unrescued) empty.
  returned: when state is rescued or unrescued
  type: dict
  sample: {"name": "web01-rescue", "power_state": "running", "other_config": {"virtops_rescue_of": "5b0b7d6e-..."}}
reboot_type:
  description: The reboot that restarted the VM, V(hard) when a soft reboot fell back to a hard one.
  returned: when state is restarted and the VM was rebooted
  type: str
  sample: soft
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

from ansible_collections.virtops.compute.plugins.module_utils._xenapi.base import XenAPIModule
from ansible_collections.virtops.compute.plugins.module_utils._xenapi.power_module import run_xen_vm_power


class XenVMPower(XenAPIModule):
    argument_spec = {
        "name": {"type": "str"},
        "uuid": {"type": "str"},
        "state": {
            "type": "str",
            "required": True,
            "choices": ["running", "halted", "paused", "suspended", "restarted", "rescued", "unrescued"],
        },
        "reboot_type": {"type": "str", "choices": ["soft", "hard"], "default": "soft"},
        "force": {"type": "bool", "default": False},
        "timeout": {"type": "int", "default": 300},
        "shutdown_timeout": {"type": "int", "default": 120},
        "rescue_template": {"type": "str"},
    }
    module_kwargs = {"required_one_of": [["name", "uuid"]], "required_if": [["state", "rescued", ["rescue_template"]]]}

    def run(self):
        return run_xen_vm_power(self)


def main():
    XenVMPower.main()


if __name__ == "__main__":
    main()
