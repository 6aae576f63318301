"""A district workspace's records in the store: which drafts are district workspaces, and the meta
keys where a workspace keeps its district, its clusters and the 汇总表 values prefilled from them.
The package import (a replaced draft: the workspaces that list it follow) and the workspace both use
it; it imports neither.
"""

from __future__ import annotations

from typing import Any

from clusterdesk.model.form import Catalog, default_catalog
from clusterdesk.store import Store

META_DISTRICT = "district"
META_CLUSTERS = "clusters"
META_PREFILL = "summary_prefill"


def is_district_draft(info: Any, catalog: Catalog) -> bool:
    """Whether a draft is a district workspace: its form's role is ``district``."""
    return info.form_id in catalog and catalog.get(info.form_id).form.role == "district"


def replace_cluster_reference(store: Store, old_id: int, new_id: int, catalog: Catalog | None = None) -> None:
    """Point every district workspace that lists ``old_id`` at ``new_id`` (a replaced import)."""
    catalog = catalog or default_catalog()
    for info in store.list_drafts():
        if not is_district_draft(info, catalog):
            continue
        meta = store.get_meta(info.id)
        ids = meta.get(META_CLUSTERS)
        if not isinstance(ids, list) or old_id not in ids:
            continue
        store.set_meta(info.id, META_CLUSTERS, [new_id if i == old_id else i for i in ids])
        prefill = meta.get(META_PREFILL)
        if isinstance(prefill, dict) and str(old_id) in prefill:
            prefill[str(new_id)] = prefill.pop(str(old_id))
            store.set_meta(info.id, META_PREFILL, prefill)
