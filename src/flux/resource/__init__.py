"""``flux.resource``: resource sets and the instance's resource status (flux-core's names).

``import flux.resource`` makes ``flux.resource.list`` and ``flux.resource.status``
reachable, as in flux-core.
"""

from flux.resource import list, status  # noqa: A004  (flux-core's module names)
from flux.resource.list import SchedResourceList, resource_list
from flux.resource.ResourceSet import ResourceSet
from flux.resource.status import ResourceStatus, resource_status

__all__ = [
    "ResourceSet",
    "ResourceStatus",
    "SchedResourceList",
    "list",
    "resource_list",
    "resource_status",
    "status",
]
