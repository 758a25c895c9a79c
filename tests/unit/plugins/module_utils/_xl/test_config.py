"""xl.cfg model: render, parse, round trips and the refusals (tables)."""

from __future__ import annotations

import pytest

from ansible_collections.virtops.compute.plugins.module_utils._xl.config import (
    HEADER,
    DiskSpec,
    DomainConfig,
    VifSpec,
    parse,
    parse_disk,
    parse_values,
    parse_vif,
    render,
    validate_name,
)
from ansible_collections.virtops.compute.plugins.module_utils._xl.errors import XlConfigError


def full() -> DomainConfig:
    return DomainConfig(
        name="web1",
        type="pvh",
        memory=256,
        maxmem=512,
        vcpus=2,
        kernel="/boot/vmlinux",
        ramdisk="/boot/initrd.gz",
        cmdline='root=/dev/xvda1 console=hvc0 quote="x"',
        disks=[
            DiskSpec(vdev="xvda", target="/var/lib/xen/images/web1,disk.img"),
            DiskSpec(vdev="xvdb", target="/dev/vg0/web1-data", format="raw", mode="ro"),
        ],
        vifs=[VifSpec(bridge="xenbr0", mac="00:16:3e:00:00:01"), VifSpec(bridge="xenbr1", options={"model": "e1000"})],
        on_poweroff="destroy",
        on_reboot="restart",
        on_crash="preserve",
        extra={"cpuid": "host,rdtscp=0", "localtime": 0, "cpus": ["0", "1"]},
    )


def test_render_exact_text():
    assert render(full()) == HEADER + (
        'name = "web1"\n'
        'type = "pvh"\n'
        'kernel = "/boot/vmlinux"\n'
        'ramdisk = "/boot/initrd.gz"\n'
        'cmdline = "root=/dev/xvda1 console=hvc0 quote=\\"x\\""\n'
        "memory = 256\n"
        "maxmem = 512\n"
        "vcpus = 2\n"
        'disk = [ "format=raw, vdev=xvda, access=rw, target=/var/lib/xen/images/web1,disk.img", '
        '"format=raw, vdev=xvdb, access=ro, target=/dev/vg0/web1-data" ]\n'
        'vif = [ "mac=00:16:3e:00:00:01,bridge=xenbr0", "bridge=xenbr1,model=e1000" ]\n'
        'on_poweroff = "destroy"\n'
        'on_reboot = "restart"\n'
        'on_crash = "preserve"\n'
        'cpuid = "host,rdtscp=0"\n'
        'cpus = [ "0", "1" ]\n'
        "localtime = 0\n"
    )


def test_round_trip_is_identity():
    cfg = full()
    assert parse(render(cfg)) == cfg
    assert render(parse(render(cfg))) == render(cfg)


def test_parse_hand_written_file_ganeti_style():
    text = """# written by hand
kernel = '/boot/vmlinuz-6.1'   # PV kernel
ramdisk = "/boot/initrd"
memory = 0x80; maxmem = 256
vcpus = 2
name = "inst1.example.com"
disk = [ 'phy:/dev/xenvg/disk0,xvda,w',
         'file:/srv/inst1/disk1,xvdb,r',
         'tap:qcow2:/srv/inst1/d2.qcow2,xvdc,w',
         ,]
vif = [ 'mac=AA:00:00:11:22:33, bridge=xen-br0, ip=192.0.2.4' ]
on_reboot = 'destroy'
extra = "console=hvc0"
vfb += [ "vnc=1" ]
"""
    with pytest.raises(XlConfigError, match="line 10: expected a string or a number, got ','"):
        parse(text)
    cfg = parse(text.replace("         ,]", "       ]"))
    assert cfg.name == "inst1.example.com"
    assert cfg.type == "pv"
    assert (cfg.memory, cfg.maxmem, cfg.vcpus) == (128, 256, 2)
    assert cfg.disks == [
        DiskSpec(vdev="xvda", target="/dev/xenvg/disk0", format="raw", mode="rw"),
        DiskSpec(vdev="xvdb", target="/srv/inst1/disk1", format="raw", mode="ro"),
        DiskSpec(vdev="xvdc", target="/srv/inst1/d2.qcow2", format="qcow2", mode="rw"),
    ]
    assert cfg.vifs == [VifSpec(bridge="xen-br0", mac="aa:00:00:11:22:33", options={"ip": "192.0.2.4"})]
    assert cfg.on_reboot == "destroy" and cfg.on_crash is None
    assert cfg.extra == {"extra": "console=hvc0", "vfb": ["vnc=1"]}


def test_parse_values_escapes_lists_and_appends():
    assert parse_values('a = "x\\"y\\\\z\\n"\nb=[1,"two",]\nb += "three"\nc = 0x10\n') == {
        "a": 'x"y\\z\n',
        "b": [1, "two", "three"],
        "c": 16,
    }


@pytest.mark.parametrize(
    "text, message",
    [
        ('name = "a"\nkernel = "/x\n', "line 2: unexpected '\"/x'"),
        ('name "a"\n', "line 1: expected '=' after name"),
        ('name = "a" "b"\n', "line 1: expected the end of the line after name"),
        ("disk = [ 'a'\n", "unterminated list for disk"),
        ('memory = "lots"\nname="a"\n', "memory: expected an integer, got 'lots'"),
        ("memory = 64\n", "has no name setting"),
    ],
)
def test_parse_errors_name_the_line(text, message):
    with pytest.raises(XlConfigError) as err:
        parse(text)
    assert message in str(err.value)


@pytest.mark.parametrize(
    "spec, expected",
    [
        ("vdev=xvda, target=/img/a,b.raw", DiskSpec(vdev="xvda", target="/img/a,b.raw")),
        (
            "format=qcow2,vdev=xvdb,access=ro,target=/q.qcow2",
            DiskSpec(vdev="xvdb", target="/q.qcow2", format="qcow2", mode="ro"),
        ),
        ("/dev/vg/lv,xvda,w", DiskSpec(vdev="xvda", target="/dev/vg/lv")),
        ("phy:/dev/vg/lv,xvda,w", DiskSpec(vdev="xvda", target="/dev/vg/lv")),
        ("raw:/img,hda,r", DiskSpec(vdev="hda", target="/img", mode="ro")),
        ("/iso/x.iso,hdc:cdrom,r", DiskSpec(vdev="hdc", target="/iso/x.iso", mode="ro", devtype="cdrom")),
        (
            "vdev=xvdc, access=rw, backendtype=qdisk, target=/d",
            DiskSpec(vdev="xvdc", target="/d", options={"backendtype": "qdisk"}),
        ),
    ],
)
def test_parse_disk(spec, expected):
    assert parse_disk(spec) == expected


@pytest.mark.parametrize(
    "spec, message",
    [
        ("", "disks: empty disk spec"),
        ("/only-a-target", "a positional disk spec is target,vdev"),
        ("vdev=xvda, /img", "'/img' is not key=value"),
        ("vdev=sda0x, target=/i", "vdev 'sda0x' is not a guest device name"),
        ("vdev=xvda, format=vmdk, target=/i", "format 'vmdk' is not one of raw, qcow, qcow2, vhd, qed, empty"),
        ("vdev=xvda, access=rx, target=/i", "access 'rx' is not one of rw, ro"),
        ("vdev=xvda, access=rw", "no target"),
    ],
)
def test_parse_disk_refuses_malformed_specs(spec, message):
    with pytest.raises(XlConfigError) as err:
        parse_disk(spec)
    assert message in str(err.value)
    assert err.value.param == "disks"


def test_parse_vif_and_refusals():
    assert parse_vif("bridge=xenbr0, mac=00:16:3E:AA:BB:CC,script=vif-bridge") == VifSpec(
        bridge="xenbr0", mac="00:16:3e:aa:bb:cc", options={"script": "vif-bridge"}
    )
    with pytest.raises(XlConfigError, match="mac '00:16:3e' is not six colon-separated hex octets"):
        parse_vif("mac=00:16:3e")
    with pytest.raises(XlConfigError, match="'xenbr0' is not key=value"):
        parse_vif("xenbr0")


@pytest.mark.parametrize(
    "name, message",
    [
        ("", "name: must not be empty"),
        ("../etc/passwd", "must not contain a path separator"),
        ("a/b", "must not contain a path separator"),
        ("a\\b", "must not contain a path separator"),
        ("two words", "whitespace"),
        ("..", "must not contain a path separator"),
        ("123", "all digits, which xl would read as a domain id"),
        ("x" * 65, "longer than 64 characters"),
    ],
)
def test_validate_name_refuses(name, message):
    with pytest.raises(XlConfigError) as err:
        validate_name(name)
    assert message in str(err.value)
    assert err.value.param == "name"


@pytest.mark.parametrize(
    "change, param, message",
    [
        ({"type": "xen"}, "type", "'xen' is not one of pv, pvh, hvm"),
        ({"memory": 0}, "memory", "must be a positive integer, got 0"),
        ({"vcpus": True}, "vcpus", "must be a positive integer, got True"),
        ({"maxmem": 64}, "maxmem", "must be an integer not below memory (256 MiB), got 64"),
        ({"kernel": None}, "kernel", "a pvh domain needs a kernel"),
        ({"on_crash": "explode"}, "on_crash", "'explode' is not one of destroy, restart"),
        ({"extra": {"memory": 5}}, "extra", "'memory' has its own option"),
        ({"extra": {"bad key": 5}}, "extra", "'bad key' is not an xl.cfg key"),
        (
            {"disks": [DiskSpec(vdev="xvda", target="/a"), DiskSpec(vdev="xvda", target="/b")]},
            "disks",
            "vdev xvda appears more than once",
        ),
        ({"disks": [DiskSpec(vdev="xvda", target='/a"b')]}, "disks", "must not contain quotes"),
        ({"vifs": [VifSpec(bridge="br0,script=/tmp/x")]}, "vifs", "must not contain commas"),
    ],
)
def test_render_refuses_invalid_config(change, param, message):
    cfg = full()
    for key, value in change.items():
        setattr(cfg, key, value)
    with pytest.raises(XlConfigError) as err:
        render(cfg)
    assert message in str(err.value)
    assert err.value.param == param


def test_hvm_needs_no_kernel_and_builder_alias_is_read():
    assert "kernel" not in render(DomainConfig(name="h", type="hvm"))
    assert parse('name="h"\nbuilder="hvm"\n').type == "hvm"
