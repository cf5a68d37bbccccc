"""The page groups of the web layer, registered in one place (:data:`PAGE_GROUPS`).

A page group is one module ``web/pages/<group>.py`` holding ``router`` (a FastAPI ``APIRouter``) and ``NAV``
(the navigation links it adds, each with the roles that see it), and its templates in
``web/templates/<group>/``. To add one, write both and append ``PageGroup(<group>.router, <group>.NAV)`` below.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import APIRouter

from datagora.web.deps import NavItem
from datagora.web.pages import (
    buyer,
    collaboration,
    compute,
    consent,
    everyone,
    owner,
    platform,
    points,
    shop,
    signin,
    supervisor,
)


@dataclass(frozen=True)
class PageGroup:
    router: APIRouter
    nav: list[NavItem] = field(default_factory=list)


PAGE_GROUPS: list[PageGroup] = [
    PageGroup(everyone.router, everyone.NAV),
    PageGroup(owner.router, owner.NAV),
    PageGroup(buyer.router, buyer.NAV),
    PageGroup(platform.router, platform.NAV),
    PageGroup(supervisor.router, supervisor.NAV),
    PageGroup(points.router, points.NAV),
    PageGroup(compute.router, compute.NAV),
    PageGroup(collaboration.router, collaboration.NAV),
    PageGroup(consent.router, consent.NAV),
    PageGroup(shop.router, shop.NAV),
    PageGroup(signin.router, signin.NAV),
]


def nav_items() -> list[NavItem]:
    """Every group's links, in the order of :data:`PAGE_GROUPS`."""
    return [item for group in PAGE_GROUPS for item in group.nav]
