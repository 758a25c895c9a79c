from __future__ import annotations

import pytest

from ansible_collections.virtops.compute.plugins.module_utils._xenapi.errors import backend_error, readable

GiB = 1024**3
MiB = 1024**2
DB = {
    ("VM", "name_label", "OpaqueRef:vm"): "web01",
    ("VM", "resident_on", "OpaqueRef:vm"): "OpaqueRef:h1",
    ("host", "name_label", "OpaqueRef:h1"): "xs-01",
    ("host", "name_label", "OpaqueRef:h2"): "xs-02",
    ("VDI", "SR", "OpaqueRef:vdi"): "OpaqueRef:sr",
    ("SR", "name_label", "OpaqueRef:sr"): "Local storage",
}


def reads(log):
    def read(cls, field, ref):
        log.append((cls, field, ref))
        return DB[(cls, field, ref)]

    return read


def test_host_memory_on_start_on_names_the_given_host_and_the_vm():
    log = []
    text = readable(
        "HOST_NOT_ENOUGH_FREE_MEMORY",
        [str(4 * GiB), str(512 * MiB)],
        "Async.VM.start_on",
        ["OpaqueRef:vm", "OpaqueRef:h2", False, False],
        reads(log),
    )
    assert text == (
        "HOST_NOT_ENOUGH_FREE_MEMORY: not enough free memory on host 'xs-02' for VM 'web01': "
        "4096.0 MiB needed, 512.0 MiB free"
    )
    assert len(log) == 2  # one read per name, nothing else


def test_host_memory_on_a_running_vm_names_its_resident_host():
    text = readable(
        "HOST_NOT_ENOUGH_FREE_MEMORY", [str(GiB), "0"], "VM.set_memory_dynamic_range", ["OpaqueRef:vm"], reads([])
    )
    assert "on host 'xs-01' for VM 'web01'" in text


def test_sr_full_on_a_vdi_call_reads_the_vdi_sr():
    text = readable("SR_FULL", [str(30 * GiB), str(20 * GiB)], "VDI.resize", ["OpaqueRef:vdi", "1"], reads([]))
    assert text == "SR_FULL: SR 'Local storage' is full: 30.0 GiB requested, 20.0 GiB available"


def test_a_failing_name_read_keeps_the_ref_and_never_raises():
    def broken(cls, field, ref):
        raise RuntimeError("connection gone")

    text = readable("VM_BAD_POWER_STATE", ["OpaqueRef:vm", "running", "halted"], "VM.pause", ["OpaqueRef:vm"], broken)
    assert text == "VM_BAD_POWER_STATE: VM OpaqueRef:vm is halted; this operation needs it running"


@pytest.mark.parametrize(
    "code,params,sentence",
    [
        ("VM_REQUIRES_SR", ["OpaqueRef:vm", "OpaqueRef:sr"], "VM 'web01' needs SR 'Local storage'"),
        ("VDI_IN_USE", ["OpaqueRef:vdi", "destroy"], "VDI OpaqueRef:vdi is in use by another operation (destroy)"),
        ("VM_MISSING_PV_DRIVERS", ["OpaqueRef:vm"], "VM 'web01' has no guest tools (PV drivers) running"),
        ("HOST_OFFLINE", ["OpaqueRef:h1"], "host 'xs-01' cannot be contacted"),
        ("MEMORY_CONSTRAINT_VIOLATION", ["static_min <= dynamic_min"], "break xapi's rule static_min <= dynamic_min"),
    ],
)
def test_common_codes(code, params, sentence):
    assert sentence in readable(code, params, "VM.start", ["OpaqueRef:vm"], reads([]))


def test_backend_error_keeps_code_and_raw_params_for_scripts():
    err = backend_error("start", "SR_FULL", [10, 5], method="VM.start", step="start")
    assert err.code == "SR_FULL" and err.step == "start"
    assert err.to_result()["error"] == {"code": "SR_FULL", "params": ["10", "5"]}
    assert (
        err.message()
        == "step 'start' failed: start failed: SR_FULL: the SR is full: 0.0 MiB requested, 0.0 MiB available"
    )
