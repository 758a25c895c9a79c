from __future__ import annotations

import pytest

from ansible_collections.virtops.compute.plugins.module_utils._common.errors import InvalidInput
from ansible_collections.virtops.compute.plugins.module_utils._common.units import format_size, parse_size

MiB, GiB = 1024**2, 1024**3


@pytest.mark.parametrize(
    "value,default,expected",
    [
        (512, "MiB", 512 * MiB),
        ("512", "MiB", 512 * MiB),
        ("4GiB", "MiB", 4 * GiB),
        ("4 GiB", "MiB", 4 * GiB),
        ("4G", "MiB", 4 * GiB),
        ("4gb", "MiB", 4 * GiB),
        ("1.5GiB", "MiB", 3 * GiB // 2),
        (20, "GiB", 20 * GiB),
        ("1T", "GiB", 1024 * GiB),
        ("4096B", "MiB", 4096),
        ("2048k", "MiB", 2 * MiB),
    ],
)
def test_parse(value, default, expected):
    assert parse_size(value, "memory", default) == expected


@pytest.mark.parametrize(
    "value,message",
    [
        ("-5GiB", "memory: size must be positive, got '-5GiB'"),
        (-1, "memory: size must be positive, got -1"),
        ("4 GiBs", "memory: unknown unit 'GiBs' in '4 GiBs'"),
        ("four", "memory: expected a size such as '4GiB' or '512MiB', got 'four'"),
        ("0", "memory: size must be greater than zero, got '0'"),
        ("0.3B", "memory: size '0.3B' is not a whole number of bytes"),
        (True, "memory: expected a size such as '4GiB' or '512MiB', got True"),
    ],
)
def test_bad_sizes_name_the_parameter(value, message):
    with pytest.raises(InvalidInput) as err:
        parse_size(value, "memory")
    assert str(err.value).startswith(message)
    assert err.value.param == "memory"


@pytest.mark.parametrize("size,text", [(4 * GiB, "4GiB"), (1536 * MiB, "1536MiB"), (1000, "1000B"), (0, "0B")])
def test_format(size, text):
    assert format_size(size) == text
