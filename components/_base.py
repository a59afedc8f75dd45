"""What every component shares: child options, data protection, rule-to-resource mapping."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi


def child(parent: pulumi.Resource, *, protect: bool = False, depends_on: Sequence[pulumi.Resource] = (),
          ignore_changes: Sequence[str] = ()) -> pulumi.ResourceOptions:
    """Options for a child: parented (so providers and deletedWith flow down) and, for data, protected.

    protect stops `pulumi destroy`/replacement; retain_on_delete keeps the cloud resource even if
    the protection is lifted and the resource is removed from the program.
    """
    return pulumi.ResourceOptions(
        parent=parent,
        protect=protect,
        retain_on_delete=protect or None,
        depends_on=list(depends_on) or None,
        ignore_changes=list(ignore_changes) or None,
    )
