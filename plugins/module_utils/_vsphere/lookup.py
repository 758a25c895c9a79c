# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Finding VMs and inventory objects with a constant number of round trips.

* by instance or BIOS UUID: ``SearchIndex.FindByUuid`` (1 call);
* by MoID: a stub ``vim.VirtualMachine(moid)``, verified by the one state read that follows;
* by inventory path: ``SearchIndex.FindByInventoryPath`` (1 call);
* by name: the :class:`Inventory` — one (session-cached) ``CreateContainerView`` and ONE
  ``RetrievePropertiesEx`` reading ``name``/``parent`` of every object — the same 2 calls at
  10 VMs and at 5,000.

The :class:`Inventory` also resolves datastores, networks, hosts, clusters, resource pools,
folders and datacenters by name (or MoID) for planning, without further calls.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from ansible_collections.virtops.compute.plugins.module_utils._common.errors import (
    Ambiguous,
    BackendError,
    InvalidInput,
    NotFound,
)

from .client import VSphereClient, moid, vim

UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")

# inventory kinds -> vim type name; "network" covers standard networks and DV portgroups
KINDS = {
    "vm": "VirtualMachine",
    "folder": "Folder",
    "datacenter": "Datacenter",
    "datastore": "Datastore",
    "network": "Network",
    "host": "HostSystem",
    "cluster": "ClusterComputeResource",
    "compute": "ComputeResource",
    "resource_pool": "ResourcePool",
    "dvs": "DistributedVirtualSwitch",
}


def _inventory_props(kinds: Iterable[str]) -> dict[Any, list[str]]:
    props: dict[Any, list[str]] = {vim.Folder: ["name", "parent"], vim.Datacenter: ["name", "parent", "vmFolder"]}
    kinds = set(kinds)
    if "vm" in kinds:
        props[vim.VirtualMachine] = ["name", "parent", "config.template"]
    if "all" in kinds:
        props.update(
            {
                vim.VirtualMachine: ["name", "parent", "config.template", "resourcePool"],
                vim.Datacenter: ["name", "parent", "vmFolder", "hostFolder", "datastoreFolder", "networkFolder"],
                vim.Datastore: ["name", "parent"],
                vim.Network: ["name", "parent"],
                vim.dvs.DistributedVirtualPortgroup: ["name", "parent", "key", "config.distributedVirtualSwitch"],
                vim.DistributedVirtualSwitch: ["name", "parent", "uuid"],
                vim.ComputeResource: ["name", "parent", "resourcePool"],
                vim.HostSystem: ["name", "parent"],
                vim.ResourcePool: ["name", "parent", "owner"],
            }
        )
    return props


class Entity:
    """One inventory object: ``moid``, ``kind`` (vim type name), ``name``, ``props`` and the stub ``obj``."""

    __slots__ = ("kind", "moid", "name", "obj", "props")

    def __init__(self, obj: Any, props: dict[str, Any]) -> None:
        self.obj = obj
        self.moid: str = obj._moId
        self.kind: str = type(obj).__name__.rsplit(".", 1)[-1]
        self.props = props
        self.name: str = props.get("name", "")

    def get(self, path: str, default: Any = None) -> Any:
        return self.props.get(path, default)

    def __repr__(self) -> str:
        return "<%s %s %r>" % (self.kind, self.moid, self.name)


class Inventory:
    """Names and parents of the inventory, read in one ``RetrievePropertiesEx``; resolves names offline.

    ``Inventory.load(client)`` reads VMs, folders and datacenters (what a VM lookup needs);
    ``Inventory.load(client, full=True)`` adds datastores, networks, portgroups, switches, hosts,
    clusters and resource pools. ``extra`` (``[(obj, paths)]``) are read in the same call and
    returned in ``inventory.extra[moid]``.
    """

    def __init__(
        self, found: dict[str, tuple[Any, dict[str, Any]]], extra: dict[str, dict[str, Any]] | None = None
    ) -> None:
        self.by_moid: dict[str, Entity] = {m: Entity(o, p) for m, (o, p) in found.items()}
        self.extra = extra or {}

    @classmethod
    def load(cls, client: VSphereClient, full: bool = False, extra: Iterable[tuple[Any, list[str]]] = ()) -> Inventory:
        found, extras = client.collect(_inventory_props(["vm", "all"] if full else ["vm"]), extra=list(extra))
        return cls(found, extras)

    # generic -----------------------------------------------------------------
    def of(self, kind: str) -> list[Entity]:
        """Objects of a kind (see ``KINDS``; subclasses included: ``network`` has DV portgroups)."""
        type_name = KINDS.get(kind, kind)
        klass = getattr(vim, type_name, None) or getattr(vim.dvs, type_name, None)
        return [e for e in self.by_moid.values() if klass is not None and isinstance(e.obj, klass)]

    def get(self, ref: Any) -> Entity | None:
        """The entity of a stub or MoID string."""
        key = ref if isinstance(ref, str) else moid(ref)
        return self.by_moid.get(key) if key else None

    def name_of(self, ref: Any) -> str | None:
        e = self.get(ref)
        return e.name if e else None

    def parent(self, e: Entity) -> Entity | None:
        return self.get(e.get("parent"))

    def path(self, e: Entity) -> str:
        """Inventory path like ``/DC0/vm/sub/name`` (``FindByInventoryPath`` syntax with a leading /)."""
        parts = [e.name]
        node = self.parent(e)
        while node is not None and node.get("parent") is not None:
            parts.append(node.name)
            node = self.parent(node)
        return "/" + "/".join(reversed(parts))

    def datacenter_of(self, e: Entity) -> Entity | None:
        node: Entity | None = e
        while node is not None and node.kind != "Datacenter":
            node = self.parent(node)
        return node

    def folder_path(self, e: Entity) -> str:
        """Path of the folder holding ``e`` (``/DC0/vm/sub``)."""
        parent = self.parent(e)
        return self.path(parent) if parent is not None else "/"

    def resolve(
        self, kind: str, ident: str, param: str, within: Entity | None = None, candidates: list[Entity] | None = None
    ) -> Entity:
        """Exactly one ``kind`` named (or with MoID, or inventory path) ``ident``; ``InvalidInput`` naming
        ``param`` when there is none or more than one. ``within``: only below this datacenter."""
        pool = candidates if candidates is not None else self.of(kind)
        if within is not None:
            pool = [e for e in pool if self._below(e, within)]
        if ident.startswith("/"):
            matches = [e for e in pool if self.path(e) == ident.rstrip("/")]
        else:
            matches = [e for e in pool if e.moid == ident] or [e for e in pool if e.name == ident]
        if not matches:
            raise InvalidInput(
                param,
                "no %s named %r%s"
                % (kind.replace("_", " "), ident, " in datacenter %r" % within.name if within else ""),
            )
        if len(matches) > 1:
            raise InvalidInput(
                param,
                "%d objects of kind %s are named %r (%s); use the inventory path or MoID"
                % (len(matches), kind, ident, ", ".join(sorted(self.path(e) for e in matches))),
            )
        return matches[0]

    def _below(self, e: Entity, ancestor: Entity) -> bool:
        node: Entity | None = e
        while node is not None:
            if node.moid == ancestor.moid:
                return True
            node = self.parent(node)
        return False

    def resolve_folder(self, folder: str, datacenter: Entity | None, param: str = "folder") -> Entity:
        """A VM folder: an absolute path (``/DC0/vm/sub``), a path relative to the datacenter's
        ``vm`` folder (``sub/deeper``), or a MoID."""
        folders = self.of("folder")
        if folder in self.by_moid and self.by_moid[folder].kind == "Folder":
            return self.by_moid[folder]
        path = folder.strip()
        if not path.startswith("/"):
            if datacenter is None:
                dcs = self.of("datacenter")
                if len(dcs) != 1:
                    raise InvalidInput(param, "relative folder %r needs datacenter (there are %d)" % (folder, len(dcs)))
                datacenter = dcs[0]
            vm_folder = self.get(datacenter.get("vmFolder"))
            base = self.path(vm_folder) if vm_folder else self.path(datacenter) + "/vm"
            rel = path.strip("/")
            if rel == "vm" or rel.startswith("vm/"):  # "vm/sub" = relative to the datacenter, like govc
                rel = rel[3:]
            path = base + ("/" + rel if rel else "")
        for f in folders:
            if self.path(f) == path.rstrip("/"):
                return f
        raise InvalidInput(param, "no folder %r (looked for %s)" % (folder, path))

    # VMs ---------------------------------------------------------------------
    def vms_named(self, name: str, folder: Entity | None = None, templates: bool | None = None) -> list[Entity]:
        """VMs with this name (directly in ``folder`` when given); ``templates`` filters on config.template."""
        out = []
        for e in self.of("vm"):
            if e.name != name:
                continue
            if folder is not None and moid(e.get("parent")) != folder.moid:
                continue
            if templates is not None and bool(e.get("config.template")) != templates:
                continue
            out.append(e)
        return out


def find_vm(
    client: VSphereClient,
    *,
    name: str | None = None,
    uuid: str | None = None,
    moid_: str | None = None,
    path: str | None = None,
    folder: str | None = None,
    datacenter: str | None = None,
    inventory: Inventory | None = None,
    uuid_type: str = "any",
) -> Any | None:
    """The VM stub or ``None``. Precedence: ``moid_`` > ``uuid`` > ``path`` > ``name``.

    * ``uuid``: ``FindByUuid`` as instance UUID, then as BIOS UUID (``uuid_type`` ``instance``/``bios``
      restricts it) — 1 or 2 calls;
    * ``moid_``: no call; the caller's state read verifies it (``NotFound`` then);
    * ``path``: ``FindByInventoryPath`` — 1 call;
    * ``name`` (optionally in ``folder`` / ``datacenter``): the ``inventory`` (loaded here if not given:
      ``CreateContainerView`` + ``RetrievePropertiesEx``). Two VMs with the name raise :class:`Ambiguous`.
    """
    if moid_:
        return client.ref("VirtualMachine", moid_)
    si = client.content.searchIndex
    if uuid:
        if not UUID_RE.match(uuid.strip()):
            raise InvalidInput("uuid", "%r is not a UUID" % uuid)
        order = {"instance": [True], "bios": [False]}.get(uuid_type, [True, False])
        for instance in order:
            found = client.call(si.FindByUuid, None, uuid.strip(), True, instance, what="find VM by uuid")
            if found is not None:
                return found
        return None
    if path:
        found = client.call(si.FindByInventoryPath, path.strip("/"), what="find VM by inventory path")
        if found is not None and not isinstance(found, vim.VirtualMachine):
            raise InvalidInput("path", "%r is a %s, not a VM" % (path, type(found).__name__))
        return found
    if not name:
        raise InvalidInput("name", "one of name, uuid, moid or path is required")
    inv = inventory if inventory is not None else Inventory.load(client)
    dc = inv.resolve("datacenter", datacenter, "datacenter") if datacenter else None
    fold = inv.resolve_folder(folder, dc) if folder else None
    matches = inv.vms_named(name, fold)
    if dc is not None:
        matches = [e for e in matches if inv._below(e, dc)]
    if len(matches) > 1:
        raise Ambiguous(
            "%d VMs are named %r: %s; give folder, uuid or moid"
            % (len(matches), name, ", ".join("%s (%s)" % (inv.path(e), e.moid) for e in matches)),
            param="name",
            details=[e.moid for e in matches],
        )
    return matches[0].obj if matches else None


def get_vm(client: VSphereClient, **kwargs: Any) -> Any:
    """:func:`find_vm` that raises :class:`NotFound` instead of returning ``None``."""
    vm = find_vm(client, **kwargs)
    if vm is None:
        what = ", ".join(
            "%s=%r" % (k.rstrip("_"), v)
            for k, v in kwargs.items()
            if v and k in ("name", "uuid", "moid_", "path", "folder")
        )
        raise NotFound("no VM with %s" % what)
    return vm


def raise_unless(exc: BackendError, *codes: str) -> None:
    """Re-raise ``exc`` unless its code (fault name) is one of ``codes``."""
    if exc.code not in codes:
        raise exc
