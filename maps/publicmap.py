"""The map pages, built with folium: Leaflet, the base map, the trust's layers, a layer switcher.

folium writes the map's JavaScript; everything it would load from CDNs (Leaflet, jQuery,
Bootstrap, Font Awesome...) is replaced by the few files this app serves itself
(maps/assets.py), and its page template by ours (maps/templates/maps/map.html), so a page
loads nothing from a third party but the base map's tiles. Inline code is limited to the one
script folium writes, which the page tags with the response's CSP nonce.

Vector-tile layers draw through Leaflet.VectorGrid; small overlay layers load as GeoJSON. Their
styles, popups, search and deep links live in maps/static/maps/map.js.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

import folium
from branca.element import CssLink, JavascriptLink, MacroElement
from django.conf import settings
from django.templatetags.static import static
from folium.map import FitBounds
from folium.template import Template

from clt.contact import contact_parts
from leases.queries import status_on_choices
from maps import assets
from maps.layers import Layer
from parcels.models import EasementPurpose, HoldingUse, OverlayKind, PublicAccess, TaxStatus

MAX_ZOOM = 20
DETAIL_ZOOM = 18  # the zoom a deep link to a parcel opens at

# Bottom to top: a layer later in this list draws over (and takes clicks before) earlier ones.
DRAW_ORDER = (
    # Neighbourhoods, the larger areas, under the flood zones: drawn over them, they took every
    # tap on a flood zone inside one.
    "neighbourhoods",
    "flood-zones",
    "parcels",
    "vacant-lots",
    "trust-land",
    "available",
    "conserved-land",  # a boundary, drawn over the lots it covers (`Style.boundary`)
    "leases",
)

# What a resident reads for a stored code (the popup and the legend).
LABELS = {
    "use": dict(HoldingUse.choices),
    "kind": dict(OverlayKind.choices),
    "tax_status": dict(TaxStatus.choices),
    "lease_status": dict(status_on_choices()),  # the status on the layer's day: status_on
    "purpose": dict(EasementPurpose.choices),
    "public_access": dict(PublicAccess.choices),
}

# A popup shows a coded field by its label ("Co-op housing"), so its title there is not the
# data's ("Current use code", what exports and the OGC schemas say the column holds); an area
# in the units residents measure land in, so not "Area (m²)".
POPUP_TITLES = {
    "use": "Current use",
    "area_m2": "Area",  # said in acres and square feet (the data's column, in m²)
    "purpose": "Conservation purpose",
    "public_access": "Public access",
}

NOTES = {
    "vacant-lots": "A vacant lot the trust does not hold (from the county's records).",
    "parcels": "From the county's parcel records.",
    "conserved-land": "Kept from development by a conservation easement, whoever owns the "
    "land. Public access is the easement's; ask before visiting land that is not open.",
    "leases": "One lease in force, drawn over all its parcels: its figures are the lease's, "
    "shown once.",
}


@dataclass(frozen=True)
class MapView:
    """Where the map opens: a centre and a zoom."""

    lat: float
    lon: float
    zoom: int


def parse_view(query) -> MapView | None:
    """`lat`, `lon` and `z` from a query string, or None when the place is absent or out of
    range. A zoom that is not a whole number in range does not lose a good place: it is
    brought into range (z=99 is the closest zoom, z=1.5 is 1); 16 when absent or no number."""
    try:
        lat, lon = float(query["lat"]), float(query["lon"])
    except (KeyError, ValueError):
        return None
    if not (math.isfinite(lat) and math.isfinite(lon)):
        return None
    if not (-85 <= lat <= 85 and -180 <= lon <= 180):
        return None
    return MapView(lat, lon, _zoom(query.get("z"), default=16))


def _zoom(text: str | None, *, default: int) -> int:
    try:
        zoom = float(text) if text is not None else default
    except ValueError:
        return default
    if not math.isfinite(zoom):
        return default
    return min(max(int(zoom), 0), MAX_ZOOM)


# --- folium elements ---------------------------------------------------------------------


class LocalMap(folium.Map):
    """folium's Map with our assets instead of its CDN links, and no inline styles or scripts
    in the page head (sizes come from maps/map.css, so the CSP needs no 'unsafe-inline')."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}{% endmacro %}
        {% macro html(this, kwargs) %}
            <div class="folium-map clt-map" id={{ this.get_name()|tojson }}></div>
        {% endmacro %}
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = L.map(
                {{ this.get_name()|tojson }},
                {
                    center: {{ this.location|tojson }},
                    crs: L.CRS.{{ this.crs }},
                    ...{{ this.options|tojavascript }}
                }
            );
            {%- if this.control_scale %}
            L.control.scale().addTo({{ this.get_name() }});
            {%- endif %}
            CLTMap.init({{ this.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, **kwargs):
        super().__init__(tiles=None, **kwargs)
        self.default_js = [(path, static(path)) for path in (*assets.SCRIPTS, "maps/map.js")]
        self.default_css = [(path, static(path)) for path in (*assets.STYLESHEETS, "maps/map.css")]


class VectorTileLayer(folium.map.Layer):
    """A layer drawn from this app's vector tiles by Leaflet.VectorGrid (see map.js)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = CLTMap.vectorLayer({{ this.spec|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, spec: dict, show: bool = True):
        super().__init__(name=spec["title"], overlay=True, control=True, show=show)
        self._name = "VectorTileLayer"
        self.spec = spec


class GeoJsonLayer(folium.map.Layer):
    """A small layer fetched once as GeoJSON from this app (see map.js)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = CLTMap.geojsonLayer({{ this.spec|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, spec: dict, show: bool = True):
        super().__init__(name=spec["title"], overlay=True, control=True, show=show)
        self._name = "GeoJsonLayer"
        self.spec = spec


class StartMap(MacroElement):
    """Added last: wires search, deep links and the selected parcel once every layer exists."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            CLTMap.start({{ this.config|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, config: dict):
        super().__init__()
        self._name = "StartMap"
        self.config = config


# --- building and rendering ----------------------------------------------------------------


@dataclass(frozen=True)
class MapUrls:
    tile: str  # with {layer} and Leaflet's {z}/{x}/{y}
    geojson: str  # with {layer}
    search: str
    areas: str = ""  # what a parcel lies in, for its popup (maps.areas); "" asks nothing


def layer_spec(layer: Layer, urls: MapUrls, z_index: int) -> dict:
    """What the browser needs to draw, switch and explain one layer (public facts only)."""
    url = (urls.tile if layer.delivery == "tiles" else urls.geojson).replace("{layer}", layer.name)
    return {
        "name": layer.name,
        "title": layer.title,
        "url": url,
        "minZoom": layer.min_zoom,
        "detailZoom": layer.detail_zoom,
        "featureNoun": layer.feature_noun,
        "zIndex": z_index,
        "staff": not layer.is_public,
        "fields": [
            {"name": f.name, "title": POPUP_TITLES.get(f.name) or f.title or f.name,
             "type": f.type}
            for f in layer.fields
        ],
        "labels": {name: LABELS[name] for name in layer.field_names if name in LABELS},
        "note": NOTES.get(layer.name, ""),
        "style": {
            "fill": layer.style.fill,
            "stroke": layer.style.stroke,
            "opacity": layer.style.opacity,
            "by_field": layer.style.by_field,
            "fills": layer.style.fills,
            "cell_ring": layer.style.cell_ring,
            "boundary": layer.style.boundary,
        },
    }


def in_draw_order(layers: list[Layer]) -> list[Layer]:
    """`layers` bottom first, by DRAW_ORDER. A layer missing from it is a mistake (drawn on
    top, it would cover the trust's land and take its clicks): refused, naming the list."""
    rank = {name: i for i, name in enumerate(DRAW_ORDER)}
    missing = [layer.name for layer in layers if layer.name not in rank]
    if missing:
        raise ValueError(
            f"layer {', '.join(missing)} has no place in maps.publicmap.DRAW_ORDER: add it "
            "there (bottom to top), so it does not draw over the trust's land"
        )
    return sorted(layers, key=lambda layer: rank[layer.name])


def in_request_order(layers: list[Layer]) -> list[Layer]:
    """The order the map adds `layers`, which is the order their first tiles are asked for:
    the tile layers top first, so the trust's own land is not queued behind the county's
    parcels (a browser opens six connections to a site, and the first view of a phone asked
    for every "All parcels" and "Vacant lots" tile before the trust's). Each tile layer still
    draws at its place in `DRAW_ORDER` (its `zIndex`). The GeoJSON overlays come after them,
    in draw order: they share one pane, where the one loaded first is drawn under."""
    ordered = in_draw_order(layers)
    tiled = [layer for layer in ordered if layer.delivery == "tiles"]
    return [*reversed(tiled), *(layer for layer in ordered if layer.delivery != "tiles")]


def with_features(layers: list[Layer]) -> list[Layer]:
    """`layers` without the overlays (the GeoJSON layers) that have no features yet, asked at
    each page: a "Flood zones" layer ticked and in the legend, with no flood zone loaded,
    reads as "no flood risk here". It is listed again once its overlay is imported. The page
    asks once and gives the answer to both `build_map` and `legend`."""
    return [layer for layer in layers if layer.delivery != "geojson" or layer.rows().exists()]


def build_map(
    *,
    layers: list[Layer],
    urls: MapUrls,
    view: MapView | None,
    bounds: tuple[float, float, float, float] | None,
    selected: dict | None,
) -> LocalMap:
    """A folium map of `layers` opening at `view`, else fitted to `bounds` (w, s, e, n)."""
    centre = [view.lat, view.lon] if view else list(settings.MAP_DEFAULT_CENTER)
    m = LocalMap(
        location=centre,
        zoom_start=view.zoom if view else settings.MAP_DEFAULT_ZOOM,
        max_zoom=MAX_ZOOM,
        control_scale=True,
    )
    if view is None and bounds is not None:
        # Before any layer is added (folium writes its calls in this order): fitted after them,
        # the map first asked for every layer's tiles at the default view, 72 tiles at z14 it
        # never showed, queued ahead of the ones it did (1M parcels, BENCHMARKS.md).
        # And without animation: Leaflet animates a change of up to 4 zooms, keeping the old
        # zoom until the animation ends, so every layer first loaded its tiles at the default
        # zoom (36 tiles at z14, 650 kB, on a phone opening at z10 over 1M parcels).
        west, south, east, north = bounds
        fit = FitBounds([[south, west], [north, east]], max_zoom=17)
        fit.options["animate"] = False
        fit.add_to(m)
    if settings.BASEMAP_URL:
        folium.TileLayer(
            tiles=settings.BASEMAP_URL,
            attr=settings.BASEMAP_ATTRIBUTION,
            name="Base map",
            max_zoom=MAX_ZOOM,
            max_native_zoom=19,
            control=False,
        ).add_to(m)
    z_indexes = {layer.name: z for z, layer in enumerate(in_draw_order(layers), start=1)}
    for layer in in_request_order(layers):
        spec = layer_spec(layer, urls, z_indexes[layer.name])
        element = VectorTileLayer if layer.delivery == "tiles" else GeoJsonLayer
        element(spec).add_to(m)
    # autoZIndex off: Leaflet's layer control would number the layers in the order they are
    # added (`in_request_order`), and draw the county's parcels over the trust's land.
    folium.LayerControl(collapsed=True, position="topright", autoZIndex=False).add_to(m)
    config = {
        "searchUrl": urls.search,
        "areasUrl": urls.areas,
        "contact": settings.CLT_CONTACT,
        "contactParts": contact_parts(settings.CLT_CONTACT),  # phone and e-mail as links
        "howToApplyParts": contact_parts(settings.CLT_HOW_TO_APPLY),  # said of available land
        "selected": selected,
    }
    StartMap(config).add_to(m)
    return m


@dataclass(frozen=True)
class RenderedMap:
    links: str  # <script defer src> and <link> tags, every one under STATIC_URL
    html: str  # the map's <div>
    script: str  # folium's JavaScript, run once the deferred scripts have, for one <script>


def render(m: LocalMap) -> RenderedMap:
    """Split folium's page into the parts our template places; refuse any inline head code.

    The libraries are `defer`red: blocking scripts in the head kept a phone's screen white
    until all of Leaflet had arrived; deferred, they load while the page is read and the
    header and search form paint first. Deferred scripts run, in order, before
    DOMContentLoaded, so folium's script waits for that event to find `L` and `CLTMap`."""
    figure = m.get_root()
    figure.render()  # each element adds its links to the head and its code to the script
    links = []
    for name, child in figure.header._children.items():
        if isinstance(child, JavascriptLink | CssLink):
            if not child.url.startswith(settings.STATIC_URL):
                raise ValueError(f"{name}: {child.url} is not served by this app")
            if isinstance(child, JavascriptLink):
                links.append(f'<script defer src="{escape(child.url)}"></script>')
            else:
                links.append(child.render())
        elif name != "meta_http" and child.render().strip():  # branca's charset <meta>
            raise ValueError(f"{name}: folium put {type(child).__name__} in the page head")
    script = figure.script.render()
    return RenderedMap(
        links="\n".join(links),
        html=figure.html.render(),
        script=f'document.addEventListener("DOMContentLoaded", function () {{{script}\n}});',
    )


def legend(layers: list[Layer]) -> list[dict]:
    """The legend of the layers the map lists (`with_features`): each one's title and colours,
    top layer first. A swatch is filled as the map fills the layer (its opacity): drawn solid,
    the neighbourhoods' slate blue was nowhere to be found on the map, which fills them at 4%."""
    entries = []
    for layer in reversed(in_draw_order(layers)):
        style = layer.style
        if style.by_field:
            labels = LABELS.get(style.by_field, {})
            swatches = [
                {"fill": colour, "stroke": style.stroke, "label": labels.get(value, value),
                 "opacity": style.opacity}
                for value, colour in style.fills.items()
            ]  # fmt: skip
        else:
            fill = "none" if style.boundary else style.fill  # as the map draws it
            swatches = [{"fill": fill, "stroke": style.stroke, "label": "",
                         "dashed": style.boundary, "opacity": style.opacity}]  # fmt: skip
        entries.append(
            {
                "title": layer.title,
                "swatches": swatches,
                "staff": not layer.is_public,
                "min_zoom": layer.min_zoom,
                "detail_zoom": layer.detail_zoom,
                "counted": f"{layer.feature_noun}s",  # what its circles count, zoomed out
            }
        )
    return entries
