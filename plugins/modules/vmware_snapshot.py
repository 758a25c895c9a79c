#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: vmware_snapshot
short_description: Create, remove and revert to snapshots of a vSphere VM
version_added: 0.1.0
description:
  - Manages the snapshots of an existing VM (nova's vmwareapi C(snapshot) as desired state).
  - The VM's whole snapshot tree is read in one call; C(changed), C(diff) and check mode come from one comparison.
  - V(present) creates the snapshot, as a child of the current snapshot, unless a snapshot with that name exists
    (C(changed=false)); O(description), O(memory) and O(quiesce) only apply when it is created. With O(retain), the
    oldest snapshots of the VM are then removed so that at most O(retain) remain.
  - V(absent) removes the snapshot (its children move up to its parent unless O(remove_children)), or every
    snapshot with O(remove_all); a snapshot that does not exist is left alone.
  - V(reverted) reverts the VM to the snapshot. It is an action, not a state the module can compare (the VM may
    have changed since the snapshot), so it always reports C(changed=true).
  - Several snapshots with the same name are an error listing their ids; choose one with O(snapshot_id).
extends_documentation_fragment:
  - virtops.compute.vsphere
  - virtops.compute.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
options:
  vm_name:
    description: The VM's name. Two VMs with this name are an error; give O(folder), O(uuid) or O(moid) then.
    type: str
  uuid:
    description: The VM's instance or BIOS UUID; takes precedence over O(vm_name).
    type: str
  moid:
    description: The VM's managed object id (C(vm-42)); takes precedence over O(uuid) and O(vm_name).
    type: str
  folder:
    description: The VM folder holding the VM named O(vm_name).
    type: str
  datacenter:
    description: Only look for the VM named O(vm_name) in this datacenter.
    type: str
  state:
    description: V(present), V(absent) or V(reverted) (see the description).
    type: str
    choices: [ present, absent, reverted ]
    default: present
  name:
    description: The snapshot's name. Required to create a snapshot.
    type: str
  snapshot_id:
    description:
      - The snapshot's id (vSphere's per-VM number, as returned in RV(snapshots)) or its moid (C(snapshot-42)).
        Selects one of several snapshots with the same name; with O(name) both must match.
    type: str
  description:
    description: The description of a snapshot that is created.
    type: str
    default: ""
  memory:
    description: Include the memory of a powered-on VM in a snapshot that is created.
    type: bool
    default: false
  quiesce:
    description: Quiesce the guest file systems (needs VMware Tools) for a snapshot that is created.
    type: bool
    default: false
  retain:
    description:
      - With O(state=present), after the snapshot exists, remove the oldest snapshots of the VM (by creation time,
        among ALL its snapshots, whoever made them; never the one named) until at most this many remain. Their
        children move up. At least V(1).
    type: int
  remove_children:
    description: With O(state=absent), remove the snapshot's descendants too.
    type: bool
    default: false
  remove_all:
    description: With O(state=absent), remove every snapshot of the VM (O(name) and O(snapshot_id) are not used).
    type: bool
    default: false
  timeout:
    description: Seconds to wait for each snapshot task.
    type: int
    default: 1800
author:
  - virtops.compute developers (@virtops)
"""

EXAMPLES = r"""
- name: Snapshot before an upgrade, keeping the three newest snapshots
  virtops.compute.vmware_snapshot:
    hostname: vcenter.example.com
    username: administrator@vsphere.local
    password: "{{ vcenter_password }}"
    vm_name: web01
    name: before-upgrade
    description: taken by the upgrade playbook
    retain: 3
  delegate_to: localhost

- name: Go back to it
  virtops.compute.vmware_snapshot:
    vm_name: web01
    name: before-upgrade
    state: reverted
  delegate_to: localhost

- name: Remove one of two snapshots called nightly
  virtops.compute.vmware_snapshot:
    vm_name: web01
    snapshot_id: "7"
    state: absent
  delegate_to: localhost

- name: Remove all snapshots
  virtops.compute.vmware_snapshot:
    vm_name: web01
    state: absent
    remove_all: true
  delegate_to: localhost
"""

RETURN = r"""
snapshot:
  description: The snapshot asked for, after the change (predicted in check mode, with a null id when new).
  returned: always; empty when it does not exist
  type: dict
  sample: {"id": 3, "moid": "snapshot-71", "name": "before-upgrade", "description": "", "current": true,
           "created": "2026-01-01T12:00:00+00:00", "state": "poweredOff", "quiesced": false, "parent": 2}
snapshots:
  description: Every snapshot of the VM, parents before children, each with the keys of RV(snapshot).
  returned: always
  type: list
  elements: dict
current_snapshot:
  description: The VM's current snapshot (keys of RV(snapshot)), or null.
  returned: always
  type: dict
removed:
  description: The snapshots removed (or that would be), as C(id), C(moid), C(name).
  returned: always
  type: list
  elements: dict
vm:
  description: The VM's C(name), C(moid) and C(instance_uuid).
  returned: always
  type: dict
changes:
  description: The operations, in order, that were applied (or would be in check mode).
  returned: always
  type: list
  elements: dict
  sample: [{"operation": "create", "description": "create snapshot 'before-upgrade' ..."}]
diff:
  description: The snapshot tree (id, name, parent, current) and the current snapshot's name, before and after.
  returned: always
  type: dict
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

from ansible_collections.virtops.compute.plugins.module_utils._vsphere.base import VSphereModule
from ansible_collections.virtops.compute.plugins.module_utils._vsphere.snapshot_module import run_vmware_snapshot


class VMwareSnapshot(VSphereModule):
    argument_spec = {
        "vm_name": {"type": "str"},
        "uuid": {"type": "str"},
        "moid": {"type": "str"},
        "folder": {"type": "str"},
        "datacenter": {"type": "str"},
        "state": {"type": "str", "choices": ["present", "absent", "reverted"], "default": "present"},
        "name": {"type": "str"},
        "snapshot_id": {"type": "str"},
        "description": {"type": "str", "default": ""},
        "memory": {"type": "bool", "default": False},
        "quiesce": {"type": "bool", "default": False},
        "retain": {"type": "int"},
        "remove_children": {"type": "bool", "default": False},
        "remove_all": {"type": "bool", "default": False},
        "timeout": {"type": "int", "default": 1800},
    }
    module_kwargs = {
        "required_one_of": [["vm_name", "uuid", "moid"]],
        "required_if": [
            ["state", "present", ["name", "snapshot_id"], True],
            ["state", "reverted", ["name", "snapshot_id"], True],
            ["remove_all", False, ["name", "snapshot_id"], True],
        ],
        "mutually_exclusive": [["remove_all", "name"], ["remove_all", "snapshot_id"]],
    }

    def run(self):
        return run_vmware_snapshot(self)


def main():
    VMwareSnapshot.main()


if __name__ == "__main__":
    main()
