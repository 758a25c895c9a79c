# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  hostname:
    description:
      - The XenServer/XCP-ng pool coordinator to connect to.
      - A bare host name or address is reached over C(https://). A value given as a URL, such as
        C(http://127.0.0.1:8080), keeps its scheme and port.
      - C(localhost) is an ordinary network name; it is never turned into xapi's local Unix socket.
      - If not set, the value of the E(XENAPI_HOST) environment variable is used.
    type: str
    required: true
    aliases: [ host, pool ]
  username:
    description:
      - The user to log in as.
      - If not set, the value of the E(XENAPI_USER) environment variable is used.
    type: str
    default: root
    aliases: [ user, admin ]
  password:
    description:
      - The password of O(username).
      - If not set, the value of the E(XENAPI_PASSWORD) environment variable is used.
    type: str
    aliases: [ pass, pwd ]
  port:
    description:
      - The TCP port of the XenAPI endpoint. Defaults to the scheme's port (443 for https).
    type: int
  validate_certs:
    description:
      - Verify the server's TLS certificate. Keep this on outside of tests.
      - If not set, the value of the E(XENAPI_VALIDATE_CERTS) environment variable is used.
    type: bool
    default: true
  ca_path:
    description:
      - A PEM file with the CA certificate(s) to trust when O(validate_certs=true), for pools with
        self-signed or private-CA certificates.
      - If not set, the value of the E(XENAPI_CA_PATH) environment variable is used.
    type: path
  api_timeout:
    description:
      - Seconds to wait for one XenAPI call to answer before giving up on the connection.
    type: int
    default: 60
requirements:
  - XenAPI (the Python SDK from PyPI)
notes:
  - The modules run on the controller; use C(delegate_to=localhost) or run the play against C(localhost).
  - All modules of this backend belong to the action group C(virtops.compute.xen), so setting
    C(group/virtops.compute.xen) under C(module_defaults) gives the connection options once for a play.
"""
