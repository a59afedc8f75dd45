"""ResourceLocks: a CanNotDelete management lock on each data-bearing resource it is given.

A lock stops deletion by anyone, in the portal, the CLI or another tool, where `protect` only stops Pulumi. Each
lock depends on its target (its scope is the target's id), so Pulumi creates it after the target and, were the
locks ever turned off, deletes it before anything else touches the target.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import authorization

from components._base import child

LOCK_NOTES = "brickwall: data-bearing resource; lift this lock (and the resource's Pulumi protect) only to retire it"


@dataclass(frozen=True)
class ResourceLocksArgs:
    lock_name: str
    # key -> resource id; a None id is a target this environment does not have, and gets no lock.
    targets: Mapping[str, pulumi.Input[str] | None]


class ResourceLocks(pulumi.ComponentResource):
    locks: dict[str, authorization.ManagementLockByScope]

    def __init__(self, name: str, args: ResourceLocksArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("brickwall:security:ResourceLocks", name, {}, opts)
        self.locks = {}
        for key, target in args.targets.items():
            if target is None:
                continue
            self.locks[key] = authorization.ManagementLockByScope(
                f"{name}-{key}",
                lock_name=args.lock_name,
                scope=target,
                level="CanNotDelete",
                notes=LOCK_NOTES,
                opts=child(self),
            )
        self.register_outputs({"locks": {key: lock.id for key, lock in self.locks.items()}})
