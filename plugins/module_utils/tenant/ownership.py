# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Ownership marks: which tenant an existing backend object belongs to, and the refusal when it is not this one.

Every object a tenant backend creates carries a mark naming the tenant (a Kubernetes label, an OpenBao mount
description or policy comment, a Keycloak attribute, a MinIO bucket tag or policy ``Sid``, a NATS block marker;
docs/tenants.md, "Ownership").  Before a tenant's run writes anything, every existing object in its way is read and
its mark compared with the tenant: an object marked for another tenant, or carrying no mark, is refused with a
message naming the object, its owner and the fix.  Nothing here talks to a server; each backend reads its own mark.
"""

# What a backend's "owner" is when the object carries no mark at all.
UNMARKED = None
NO_MARK = "no owner mark: made outside CloudForge"


class OwnershipError(ValueError):
    """An existing object in a tenant's way belongs to another tenant or carries no mark (the message says which)."""


def refusal(tenant, backend, what, owner, how_to_mark):
    """The message refusing ``what`` (e.g. ``namespace tenant-acme``) of ``backend`` to ``tenant``.

    ``owner`` is the tenant the mark names, or None for an unmarked object; ``how_to_mark`` is the command (or
    change) that puts this tenant's mark on the object, offered as the way to hand it over.
    """
    if owner is UNMARKED:
        whose = NO_MARK
        fix = f"delete it, or mark it with {how_to_mark} to hand it over to tenant {tenant}"
    else:
        whose = f"it belongs to tenant {owner}"
        fix = (
            f"give tenant {tenant} names that do not collide with tenant {owner}'s, or remove tenant {owner} with "
            f"purge first (or, to hand it over, mark it with {how_to_mark})"
        )
    return (
        f"tenant {tenant}: {backend} {what}: {whose}; tenant {tenant}'s run does not grant, change or delete it. "
        f"Fix: {fix}"
    )


def require(tenant, backend, what, owner, how_to_mark, error=OwnershipError):
    """Raise ``error`` (the refusal) unless ``owner`` (the mark read back from the object) names ``tenant``."""
    if owner != tenant:
        raise error(refusal(tenant, backend, what, owner, how_to_mark))


def first_line_owner(text, prefix):
    """The tenant named by the first line of ``text`` when it is ``<prefix><tenant>``, else None."""
    line, prefix = (text or "").split("\n", 1)[0].strip(), prefix.strip()
    return (line[len(prefix) :].strip() or None) if line.startswith(prefix) else None
