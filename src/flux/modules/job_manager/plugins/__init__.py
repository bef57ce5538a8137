"""Loadable (non-builtin) jobtap plugins shipped with pure-flux, loaded by flux-core's
names: ``flux jobtap load submit-hold.so``, ``alloc-bypass.so``, ``alloc-check.so`` or
``perilog.so``."""

SHIPPED = {
    "submit-hold.so": "flux.modules.job_manager.plugins.submit_hold",
    "alloc-bypass.so": "flux.modules.job_manager.plugins.alloc_bypass",
    "alloc-check.so": "flux.modules.job_manager.plugins.alloc_check",
    "perilog.so": "flux.modules.job_manager.plugins.perilog",
}
