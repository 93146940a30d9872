"""Load the demo's overlays (`fixtures/west_jackson/overlays.geojson`): illustrative
neighbourhoods and a flood zone, so the finder's neighbourhood and "outside flood zones" filters
and the public map's Neighbourhoods and Flood zones layers have something to show on the demo.

Read inside the demo's one transaction (`parcels.demo`). The demo's overlays are told apart from
a user's by `source_file`: `clt import-layer` records a file's bare name, the demo its path in
the repository, so `load-demo --force` replaces its own and never a user's. The metric outline
(`geom_m`) is a generated column: PostgreSQL fills it, as for `import_overlays`.
"""

from __future__ import annotations

import json
from pathlib import Path

from parcels.demo import DemoDataError, multipolygon
from parcels.models import Overlay, OverlayKind

# What the demo's overlays record as their `source_file`: the demo file as the repository names
# it. It holds a "/", which no name `import_overlays` records (a file's bare name) does.
DEMO_OVERLAYS_SOURCE = "fixtures/west_jackson/overlays.geojson"
NAME_MAX = Overlay._meta.get_field("name").max_length


def load_demo_overlays(path: Path) -> int:
    """Replace the demo's overlays with the features of `path`; how many. The caller holds
    the transaction, so a bad feature (named with its file and number) leaves nothing behind."""
    if not path.exists():
        raise DemoDataError(f"{path}: file not found")
    try:
        features = json.loads(path.read_text(encoding="utf-8"))["features"]
    except (ValueError, KeyError, TypeError) as exc:
        raise DemoDataError(f"{path.name}: not a GeoJSON FeatureCollection ({exc})") from exc
    forget_demo_overlays()
    overlays = [_overlay(feature, f"{path.name} feature {number}")
                for number, feature in enumerate(features, start=1)]  # fmt: skip
    Overlay.objects.bulk_create(overlays)
    return len(overlays)


def forget_demo_overlays() -> int:
    """Remove the overlays an earlier load of the demo wrote (overlays imported with
    `clt import-layer` stay); how many."""
    deleted, _ = Overlay.objects.filter(source_file=DEMO_OVERLAYS_SOURCE).delete()
    return deleted


def _overlay(feature: dict, where: str) -> Overlay:
    """The Overlay a demo feature describes: its `kind` and `name`, the other properties as
    attributes; refused, naming `where`, without a known kind, a name or a polygon."""
    attributes = dict(feature.get("properties") or {})
    kind, name = attributes.pop("kind", None), str(attributes.pop("name", "") or "")
    where = f"{where} ({name})" if name else where
    if kind not in OverlayKind.values:
        raise DemoDataError(f"{where}: kind '{kind}' is not one of {', '.join(OverlayKind.values)}")
    if not name or len(name) > NAME_MAX:
        raise DemoDataError(f"{where}: a name of 1 to {NAME_MAX} characters is needed")
    geometry = feature.get("geometry")
    if not geometry:
        raise DemoDataError(f"{where}: no geometry")
    return Overlay(
        kind=kind,
        name=name,
        attributes=attributes,
        geom=multipolygon(geometry, where),
        source_file=DEMO_OVERLAYS_SOURCE,
    )
