# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  hostname:
    description:
      - The vCenter Server or ESXi host to connect to (name or address; the SOAP endpoint is C(https://HOST:PORT/sdk)).
      - If not set, the value of the E(VMWARE_HOST) environment variable is used.
    type: str
    required: true
  username:
    description:
      - The user to log in as.
      - If not set, the value of the E(VMWARE_USER) environment variable is used.
    type: str
    required: true
    aliases: [ user ]
  password:
    description:
      - The password of O(username).
      - If not set, the value of the E(VMWARE_PASSWORD) environment variable is used.
    type: str
    aliases: [ pass, pwd ]
  port:
    description:
      - The HTTPS port of the server.
      - If not set, the value of the E(VMWARE_PORT) environment variable is used.
    type: int
    default: 443
  validate_certs:
    description:
      - Verify the server's TLS certificate and host name. Keep this on outside of labs and tests.
      - If not set, the value of the E(VMWARE_VALIDATE_CERTS) environment variable is used.
    type: bool
    default: true
  ca_path:
    description:
      - A PEM file with the CA certificate(s) to trust when O(validate_certs=true), for servers with
        self-signed or private-CA certificates.
      - If not set, the value of the E(VMWARE_CA_PATH) environment variable is used.
    type: path
  api_timeout:
    description:
      - Seconds to wait for one vSphere API call to answer before giving up on the connection.
    type: int
    default: 60
requirements:
  - pyvmomi
notes:
  - The modules run on the controller; use C(delegate_to=localhost) or run the play against C(localhost).
  - All modules of this backend belong to the action group C(virtops.compute.vmware), so setting
    C(group/virtops.compute.vmware) under C(module_defaults) gives the connection options once for a play.
  - Every read is one C(RetrievePropertiesEx) call with the exact property paths needed; finding a VM by
    name costs the same number of calls whatever the size of the inventory.
"""
