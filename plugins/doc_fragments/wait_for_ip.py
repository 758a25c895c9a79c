# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  wait_for_ip:
    description:
      - Wait until the guest reports an address (link-local, loopback and unspecified addresses are ignored).
        Only when the VM ends up running; a bounded wait that fails with a clear message.
    type: dict
    suboptions:
      family:
        description: Which address family to wait for.
        type: str
        choices: [ ipv4, ipv6, any ]
        default: ipv4
      cidr:
        description: Only count addresses in this network, e.g. V(192.0.2.0/24).
        type: str
      timeout:
        description: Seconds to wait before failing.
        type: int
        default: 300
"""
