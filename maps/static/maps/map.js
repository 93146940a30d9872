/* The trust's map in the browser: layer styles, popups, search and deep links.
 *
 * Loaded (from this app, like Leaflet and VectorGrid) before the script folium writes, which
 * calls CLTMap.init(map), CLTMap.vectorLayer(spec), CLTMap.geojsonLayer(spec) and finally
 * CLTMap.start(config). Popups are built with DOM nodes and textContent only: an address typed
 * by staff can never become markup.
 */
(function () {
  "use strict";

  // Leaflet 1.8 dropped L.DomEvent.fakeStop, which VectorGrid 1.3's canvas renderer still calls.
  if (!L.DomEvent.fakeStop) {
    L.DomEvent.fakeStop = function (e) { e._stopped = true; };
  }

  // VectorGrid 1.3 draws a point as a CircleMarker with no LatLng; for a small circle,
  // Leaflet 1.9 places a click by the circle's getLatLng(), and threw on every click of a cell
  // (zoomed-out counts). Without it, a point's click is placed where the pointer is.
  var createLayer = L.VectorGrid.prototype._createLayer;
  L.VectorGrid.prototype._createLayer = function (feature) {
    var layer = createLayer.apply(this, arguments);
    if (layer && feature.type === 1) { layer.getLatLng = null; }
    return layer;
  };

  // VectorGrid 1.3 leaves a tile that could not be fetched unhandled (an uncaught "Failed to
  // fetch", and the tile never finishes) and draws one answered with an error status empty,
  // silently: it then resolves {layers: []}, where a tile it read has an object of layers.
  // Either way the tile is kept, empty, as if drawn: it is fetched again once some of the
  // trust's land comes through (the connection is back), not left blank until a zoom.
  var getVectorTile = L.VectorGrid.Protobuf.prototype._getVectorTilePromise;
  L.VectorGrid.Protobuf.prototype._getVectorTilePromise = function (coords) {
    var layer = this;
    var key = this._tileCoordsToKey(coords);
    var id = "tile " + L.stamp(layer) + " " + key;
    return getVectorTile.apply(this, arguments).then(function (tile) {
      if (Array.isArray(tile.layers)) {
        landNotLoaded(id, function () { return refetchTile(layer, key); });
      } else {
        landLoaded(id);
      }
      return tile;
    }, function () {
      landNotLoaded(id, function () { return refetchTile(layer, key); });
      return { layers: {} };
    });
  };

  // A tile that failed, dropped and asked for again if it is still in view (Leaflet's
  // GridLayer adds the view's missing tiles on _update); whether it was.
  function refetchTile(layer, key) {
    if (!layer._map || !layer._tiles[key]) { return false; }  // switched off, or out of view
    layer._removeTile(key);
    layer._update();
    return !!layer._tiles[key];
  }

  // Leaflet 1.9's layer switcher opens on Enter only, then hides the toggle that had the focus
  // (which fell to the page's start), and closes only on a pointer leaving it or a click on the
  // map. From the keyboard it now opens on Space too, takes the focus to its first layer, and
  // closes on Escape (focus back on the toggle) or when the focus leaves it.
  var addLayersControl = L.Control.Layers.prototype.onAdd;
  L.Control.Layers.prototype.onAdd = function () {
    var container = addLayersControl.apply(this, arguments);
    if (this.options.collapsed) { switchLayersByKeyboard(this, container); }
    return container;
  };

  function switchLayersByKeyboard(control, container) {
    var toggle = container.querySelector(".leaflet-control-layers-toggle");
    if (!toggle) { return; }
    toggle.setAttribute("aria-expanded", "false");  // while open, the toggle is hidden
    toggle.addEventListener("keydown", function (event) {
      if (event.key !== "Enter" && event.key !== " " && event.key !== "Spacebar") { return; }
      event.preventDefault();  // Space would scroll the page, Enter click the hidden link
      control.expand();
      var first = container.querySelector(".leaflet-control-layers-list input:not([disabled])");
      if (first) { first.focus(); }
    });
    container.addEventListener("keydown", function (event) {
      if (!isEscape(event) || !L.DomUtil.hasClass(container, "leaflet-control-layers-expanded")) {
        return;
      }
      control.collapse();
      toggle.focus();
    });
    // Only to another element: a tapped toggle loses the focus (to none) as it hides.
    container.addEventListener("focusout", function (event) {
      if (event.relatedTarget && !container.contains(event.relatedTarget)) { control.collapse(); }
    });
  }

  function isEscape(event) {
    return event.key === "Escape" || event.key === "Esc";
  }

  var state = { map: null, layers: {}, config: null, loaded: {}, openApn: null, started: false };
  // The trust's land (tiles, overlays) that failed to load, by id: how to fetch each again;
  // and the ids being fetched again. The status line says so while either has any.
  var land = { failed: {}, retrying: {}, retryDue: null, retriedAt: 0 };
  var RETRY_EVERY_MS = 2000;
  var LAND_NOT_LOADED = "The trust's land could not be loaded; check your connection and reload.";
  // The base map (its streets and their names) is another host's; when it does not answer,
  // the trust's land still draws, on blank grey, which a resident took for a broken page.
  var BASEMAP_NOT_LOADED = "The street map is not available right now; the trust's land is " +
                           "shown without it.";
  var BASEMAP_WAIT_MS = 8000;  // a base map whose tiles hang, neither loading nor failing

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function fillFor(spec, props) {
    var style = spec.style;
    if (style.by_field && style.fills && props[style.by_field] in style.fills) {
      return style.fills[props[style.by_field]];
    }
    return style.fill;
  }

  function vectorStyle(spec) {
    return function (props, zoom) {
      if (isCell(props)) {
        // A cell: how many features are near here (below the layer's detail zoom), one per
        // value of the field the layer is coloured by (trust land: one per use).
        var radius = Math.min(7, 2 + Math.sqrt(props.count) / 3);
        if (spec.style.cell_ring) {
          // A subset of the land drawn under it (homes available now): a ring around its
          // place, so the colours of the uses under it still show.
          return {
            radius: radius + 2, fill: false, stroke: true,
            color: spec.style.fill, weight: 2, opacity: 0.95
          };
        }
        var own = !!spec.style.by_field;  // the trust's land; county counts stay in the back
        return {
          radius: radius, fill: true, fillColor: fillFor(spec, props),
          fillOpacity: own ? 0.85 : 0.4, stroke: true, color: spec.style.stroke,
          weight: 1, opacity: own ? 0.9 : 0.4
        };
      }
      // Below z15 a lot is a few pixels wide: a near-black outline would hide the colour of
      // its use, and one in the fill's own colour was too faint to see (1.5:1 against the
      // base map, for the garden's light green; WCAG 1.4.11 asks 3:1): a darker shade of it.
      var fill = fillFor(spec, props);
      return {
        fill: true, fillColor: fill, fillOpacity: spec.style.opacity,
        stroke: true, color: zoom < 15 ? shadeFor(fill) : spec.style.stroke,
        weight: zoom >= 17 ? 1.5 : 1, opacity: 0.9
      };
    };
  }

  // A shade of `hex` ("#7fbf3f") dark enough to stand out 3:1 against a light base map (the
  // OpenStreetMap land colour, #f2efe9, or Leaflet's grey #ddd where the base map is not
  // drawn, and OSM's residential grey, #e0dfdf): its linear RGB scaled down to a relative
  // luminance of at most SHADE_LUMINANCE, so its hue stays; drawn at 0.9 opacity over those
  // greys, 0.2 gave 2.7:1, 0.14 gives 3.2:1 or more. Colours already that dark are kept.
  var SHADE_LUMINANCE = 0.14;
  var shades = {};
  function shadeFor(hex) {
    if (shades[hex]) { return shades[hex]; }
    var m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex || "");
    if (!m) { return hex; }
    var linear = [m[1], m[2], m[3]].map(function (h) {
      var c = parseInt(h, 16) / 255;
      return c <= 0.04045 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    });
    var luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2];
    var scale = Math.min(1, SHADE_LUMINANCE / Math.max(luminance, 1e-6));
    shades[hex] = "#" + linear.map(function (c) {
      var v = c * scale;
      v = v <= 0.0031308 ? v * 12.92 : 1.055 * Math.pow(v, 1 / 2.4) - 0.055;
      return ("0" + Math.round(v * 255).toString(16)).slice(-2);
    }).join("");
    return shades[hex];
  }

  function formatValue(spec, field, value, type) {
    if (value === null || value === undefined || value === "") { return null; }
    // Money comes in a tile as a number: 300.00 would show as "300".
    if (type === "decimal" && typeof value === "number") { return value.toFixed(2); }
    if (spec.labels && spec.labels[field] && spec.labels[field][value]) {
      return spec.labels[field][value];
    }
    if (value === "true" || value === true) { return "Yes"; }
    if (value === "false" || value === false) { return "No"; }
    if (field === "area_m2") {  // as residents (and the county's records) measure land
      var acres = Number(value) / 4046.8564224;
      var squareFeet = Math.round(Number(value) / 0.09290304);
      return acres.toFixed(2) + " acres (" + squareFeet.toLocaleString("en-US") + " sq ft)";
    }
    return value;
  }

  function popupContent(spec, props) {
    var box = el("div", "clt-popup");
    box.appendChild(el("div", "clt-popup-layer", spec.title));
    // A lease (the staff's layer) is known by its reference; found by a search, by the
    // address of the parcel found. A farm, a garden or a co-op by its name ("Freedom Farm"),
    // its address then listed under it.
    var heading = props.place || props.address || props.name || props.apn || props.lease ||
                  spec.title;
    box.appendChild(el("h2", null, heading));
    var list = el("dl");
    spec.fields.forEach(function (field) {
      if (field.name === "contact" || field.name === "place") { return; }
      if (field.name === "address" && heading === props.address) { return; }
      var value = formatValue(spec, field.name, props[field.name], field.type);
      if (value === null) { return; }
      list.appendChild(el("dt", null, field.title));
      list.appendChild(el("dd", null, value));
    });
    box.appendChild(list);
    if (props.apn && state.config && state.config.areasUrl) {
      // A list of its own, a live region: the lines come after the popup took the focus
      // (a search's), and a screen reader reading it would not hear them otherwise.
      var areas = el("dl", "clt-popup-areas");
      areas.setAttribute("aria-live", "polite");
      box.appendChild(areas);
      addAreas(areas, props.apn);
    }
    if (spec.note) { box.appendChild(el("p", "clt-popup-note", spec.note)); }
    // A home or a lot offered now: how to apply for it (CLT_HOW_TO_APPLY), the resident's
    // next question.
    var apply = state.config && state.config.howToApplyParts;
    if (props.available === true && apply && !spec.staff) {
      box.appendChild(withLinks(el("p", "clt-popup-apply"), apply));
    }
    var contact = props.contact || (state.config && state.config.contact);
    if (contact && !spec.staff) {
      // The trust's own contact, its phone and e-mail as links to tap (clt/contact.py).
      var parts = state.config && contact === state.config.contact && state.config.contactParts;
      box.appendChild(withLinks(el("p", "clt-popup-contact", "Contact the trust: "),
                                parts || [{ text: contact }]));
    }
    return box;
  }

  // `node` with the runs of text of clt/contact.py's contact_parts appended, those with an
  // href as links.
  function withLinks(node, parts) {
    parts.forEach(function (part) {
      var run = part.href ? el("a", null, part.text) : document.createTextNode(part.text);
      if (part.href) { run.href = part.href; }
      node.appendChild(run);
    });
    return node;
  }

  // The flood zones, neighbourhoods and conservation easements a parcel lies in, added to its
  // popup's list when the answer comes ("is my street in a flood zone?" is a resident's first
  // question, and the flood zone itself lies under the neighbourhoods). Asked each time a
  // popup opens: the areas change by import. A failed answer says so: silence would read as
  // "in no flood zone".
  function addAreas(list, apn) {
    var url = state.config.areasUrl + "?apn=" + encodeURIComponent(apn);
    function add(label, value) {
      list.appendChild(el("dt", null, label));
      list.appendChild(el("dd", "clt-popup-area", value));
    }
    fetch(url, { credentials: "same-origin" })
      .then(function (r) {
        if (!r.ok) { throw new Error(url + ": " + r.status); }
        return r.json();
      })
      .then(function (data) {
        (data.areas || []).forEach(function (area) { add(area.label, area.value); });
        if (data.areas && data.areas.length) { refitPopup(); }
      })
      .catch(function () {
        add("Flood zone, neighbourhood", "Could not be checked just now; reopen to try again.");
        refitPopup();
      });
  }

  // Keep clear of the zoom buttons (top left) and the layer switcher (top right), and narrow
  // enough to fit between them and the right edge on a phone: Leaflet adds 44 px of margins
  // around the content, and pans to fit the padding only if the popup can fit at all. Low
  // enough too (on a 320-px phone, or a laptop at 200% zoom): taller, its foot, the trust's
  // contact, was cut off at the map's edge, out of reach; now its content scrolls. Leaflet
  // adds 28 px above and below the content, and its 20-px tip under that. Clear of the scale
  // and the attribution at the bottom too: on a phone the scale stood over the popup's foot.
  // A map wide enough for the widest popup between the zoom buttons and the layer switcher
  // (a phone held sideways) keeps it between them instead, and lets it rise to the top.
  function popupSize() {
    var size = state.map.getSize();
    var between = size.x >= 56 + 280 + 44 + 60;
    var top = between ? 12 : 56;
    var right = between ? 60 : 12;
    // A map narrower than a phone (a phone zoomed to 200%: 180 px) has no room beside the
    // zoom buttons: the popup goes over them (they are under it, top left), and fits.
    var left = size.x >= 320 ? 56 : 4;
    if (left === 4) { right = 4; }
    var bottom = bottomControlsHeight() + 4;
    return {
      maxWidth: Math.max(100, Math.min(280, size.x - left - right - 44 - 4)),
      maxHeight: Math.max(120, size.y - top - bottom - 28 - 20 - 4),
      autoPanPaddingTopLeft: [left, top],
      autoPanPaddingBottomRight: [right, bottom]
    };
  }

  // How far up from the map's foot its bottom controls (the scale, the attribution) reach.
  function bottomControlsHeight() {
    var container = state.map.getContainer();
    var foot = container.getBoundingClientRect().bottom;
    var controls = container.querySelectorAll(".leaflet-bottom .leaflet-control");
    var reach = 0;
    Array.prototype.forEach.call(controls, function (control) {
      var box = control.getBoundingClientRect();
      if (box.height) { reach = Math.max(reach, foot - box.top); }
    });
    return Math.ceil(reach);
  }

  function openPopup(spec, props, latlng) {
    var popup = L.popup(popupSize())
      .setLatLng(latlng)
      .setContent(popupContent(spec, props))
      .openOn(state.map);
    var content = popup.getElement().querySelector(".clt-popup");
    content.setAttribute("tabindex", "-1");  // the search takes the focus to it
    scrollableByKeyboard(popup);
    state.popup = popup;
    state.openApn = props.apn || null;
    writeUrl();
    return popup;
  }

  // A popup whose content scrolls is a stop of the Tab key, so the keyboard can scroll it.
  function scrollableByKeyboard(popup) {
    var box = popup.getElement().querySelector(".leaflet-popup-content");
    if (L.DomUtil.hasClass(box, "leaflet-popup-scrolled")) {
      box.setAttribute("tabindex", "0");
    } else {
      box.removeAttribute("tabindex");
    }
  }

  // The map's size changed (a phone turned, the search's results came and went): the open
  // popup is fitted again. Leaflet puts its content back in, which drops the focus from it.
  function refitPopup() {
    var popup = state.popup;
    if (!popup || !popup.isOpen()) { return; }
    var active = document.activeElement;
    L.setOptions(popup, popupSize());
    popup.update();
    scrollableByKeyboard(popup);
    if (active && active !== document.activeElement && popup.getElement().contains(active)) {
      active.focus({ preventScroll: true });
    }
  }

  // The properties of the tile feature a vector layer's event came from.
  function propertiesOf(e) {
    return (e.layer && e.layer.properties) || {};
  }

  function onVectorClick(spec, e) {
    var props = propertiesOf(e);
    if (isCell(props)) {
      hideCellCount();
      // Not animated: a double click's second click would read the zoom the animation
      // starts from and cancel the jump, one zoom in instead of to the lots.
      state.map.setView(e.latlng, Math.max(state.map.getZoom() + 1, spec.detailZoom),
                        { animate: false });
      return;
    }
    L.DomEvent.stopPropagation(e);
    openPopup(spec, props, e.latlng);
  }

  function isCell(props) {
    return props.count !== undefined && props.apn === undefined;
  }

  // A circle's size says roughly how many lots; pointing at one says exactly (and what they
  // are). Built from text nodes: Leaflet would read a string as HTML.
  function showCellCount(spec, e) {
    var props = propertiesOf(e);
    if (!isCell(props)) { return; }
    var byField = spec.style.by_field;
    var what = byField ? formatValue(spec, byField, props[byField]) : null;
    var noun = spec.featureNoun || "lot";
    var text = spec.title + ": " + props.count + " " + noun + (props.count === 1 ? "" : "s") +
      (what ? " (" + what + ")" : "") + ". Tap or click to zoom in.";
    hideCellCount();
    state.cellTip = L.tooltip({ direction: "top", offset: [0, -8], className: "clt-cell-tip",
                                interactive: true })
      .setLatLng(e.latlng)
      .setContent(el("span", null, text))
      .addTo(state.map);
    // WCAG 1.4.13: the pointer may move onto the count to read it; it stays until the
    // pointer leaves both (or Escape).
    var tip = state.cellTip.getElement();
    tip.addEventListener("mouseenter", function () { state.overCellTip = true; });
    tip.addEventListener("mouseleave", function () {
      state.overCellTip = false;
      hideCellCount();
    });
  }

  // The pointer left a circle: its count goes, unless the pointer went onto the count (it has
  // 300 ms to cross the gap between them).
  function leaveCell() {
    window.setTimeout(function () { if (!state.overCellTip) { hideCellCount(); } }, 300);
  }

  function hideCellCount() {
    state.overCellTip = false;
    if (state.cellTip) {
      state.map.removeLayer(state.cellTip);
      state.cellTip = null;
    }
  }

  function markLoaded(name) {
    state.loaded[name] = (state.loaded[name] || 0) + 1;
  }

  // Said once, in the search's status line, however many tiles fail, and for as long as any
  // fails: when some of the land loads (the connection is back), what failed is fetched
  // again, and the line goes once all of it has loaded (or left the view). A failure after
  // that, or after a search replaced the line, says it again. Only the trust's own layers
  // come here: without the base map (offline, or its server down) they still draw.
  // `retry` asks for the land that failed (`id`) again, and answers whether it did.
  function landNotLoaded(id, retry) {
    delete land.retrying[id];
    land.failed[id] = retry;
    setLandNotLoaded(true);
  }

  function landLoaded(id) {
    delete land.failed[id];
    delete land.retrying[id];
    if (isEmpty(land.failed)) {
      setLandNotLoaded(!isEmpty(land.retrying));
    } else {
      retryLand();
    }
  }

  // At most every 2 s: each tile of another layer that loads would otherwise ask again for
  // every tile of a layer whose server keeps failing. Never at once: a tile that just failed
  // is finished by VectorGrid after this turn.
  function retryLand() {
    if (land.retryDue !== null) { return; }
    var wait = Math.max(0, land.retriedAt + RETRY_EVERY_MS - Date.now());
    land.retryDue = window.setTimeout(function () {
      land.retryDue = null;
      land.retriedAt = Date.now();
      var failed = land.failed;
      land.failed = {};
      Object.keys(failed).forEach(function (id) {
        if (failed[id]()) { land.retrying[id] = true; }
      });
      setLandNotLoaded(!isEmpty(land.failed) || !isEmpty(land.retrying));
    }, wait);
  }

  function isEmpty(object) {
    return Object.keys(object).length === 0;
  }

  function setLandNotLoaded(notLoaded) { sayInStatus(LAND_NOT_LOADED, notLoaded); }

  // Add `note` to the search's status line, or take it out (`shown` false).
  function sayInStatus(note, shown) {
    var status = document.getElementById("clt-search-status");
    if (!status || (status.textContent.indexOf(note) !== -1) === shown) { return; }
    status.textContent = shown
      ? (status.textContent ? status.textContent + " " : "") + note
      : status.textContent.replace(note, "").trim();
    if (state.map) { fitMapToScreen(); }  // the line moved the map's foot on a phone's screen
  }

  // Say when the base map does not load (its tiles fail, or none has come in BASEMAP_WAIT_MS),
  // and take it back when a tile comes.
  function watchBaseMap(map) {
    var base = null;
    map.eachLayer(function (layer) {
      if (layer instanceof L.TileLayer) { base = layer; }
    });
    if (!base) { return; }
    var loaded = false;
    base.on("tileload", function () {
      loaded = true;
      sayInStatus(BASEMAP_NOT_LOADED, false);
    });
    base.on("tileerror", function () {
      if (!loaded) { sayInStatus(BASEMAP_NOT_LOADED, true); }
    });
    window.setTimeout(function () {
      if (!loaded) { sayInStatus(BASEMAP_NOT_LOADED, true); }
    }, BASEMAP_WAIT_MS);
  }

  // What a deep link opened, in the search's status line while it is open, for a screen
  // reader (the popup does not take the focus from the page's start). A moment after the page
  // is shown: a live region filled as the page loads is often not read, the screen reader not
  // having seen it yet.
  function sayOpened(popup, name) {
    var status = document.getElementById("clt-search-status");
    var shown = "Showing " + name + ".";
    window.setTimeout(function () {
      if (!popup.isOpen()) { return; }
      status.textContent = status.textContent ? shown + " " + status.textContent : shown;
      fitMapToScreen();  // the line pushed the map's foot off a phone's screen
      bringMapIntoView();
      popup.once("remove", function () {
        status.textContent = status.textContent.replace(shown, "").trim();
        fitMapToScreen();
      });
    }, 500);
  }

  // --- called by folium's script ------------------------------------------------------

  function init(map) {
    state.map = map;
    // Draw order: base map (tile pane), overlay areas, then the parcel layers; popups above.
    map.createPane("cltOverlays").style.zIndex = 300;
    map.createPane("cltParcels").style.zIndex = 350;
    // Boundaries over the parcels (an easement's line over the lots it covers); unfilled, so
    // a click inside one reaches the lot under it.
    map.createPane("cltBoundaries").style.zIndex = 380;
  }

  function vectorLayer(spec) {
    var styles = {};
    styles[spec.name] = vectorStyle(spec);
    var layer = L.vectorGrid.protobuf(spec.url, {
      rendererFactory: L.svg.tile,
      interactive: true,
      vectorTileLayerStyles: styles,
      pane: "cltParcels",
      zIndex: spec.zIndex,
      minZoom: spec.minZoom,
      maxNativeZoom: 18,
      maxZoom: 20,
      fetchOptions: { credentials: "same-origin" }
    });
    layer.on("click", function (e) { onVectorClick(spec, e); });
    layer.on("mouseover", function (e) { showCellCount(spec, e); });
    layer.on("mouseout", leaveCell);
    layer.on("load", function () { markLoaded(spec.name); });
    state.layers[spec.name] = { layer: layer, spec: spec };
    return layer;
  }

  // An area layer's own pane, stacked by its place in the draw order (in one shared pane, the
  // layer whose data came first was drawn under, and the neighbourhoods could take every tap
  // on the flood zone). Under the parcels' pane (350): 300 + its place, 1 to 8.
  function overlayPane(spec) {
    var name = "cltOverlay-" + spec.name;
    if (!state.map.getPane(name)) {
      var pane = state.map.createPane(name);
      pane.style.zIndex = String(300 + Math.min(spec.zIndex || 0, 49));
      pane.setAttribute("aria-hidden", "true");
    }
    return name;
  }

  function geojsonLayer(spec) {
    var boundary = spec.style.boundary;
    var layer = L.geoJSON(null, {
      pane: boundary ? "cltBoundaries" : overlayPane(spec),
      style: function () {
        if (boundary) {
          return { fill: false, color: spec.style.stroke, weight: 3, opacity: 0.9,
                   dashArray: "8 5" };
        }
        return {
          fillColor: spec.style.fill, fillOpacity: spec.style.opacity,
          color: spec.style.stroke, weight: 1.5, opacity: 0.8
        };
      },
      onEachFeature: function (feature, path) {
        path.on("click", function (e) { openPopup(spec, feature.properties || {}, e.latlng); });
      }
    });
    function load() {
      fetch(spec.url, { credentials: "same-origin" })
        .then(function (r) {
          if (!r.ok) { throw new Error(spec.url + ": " + r.status); }
          return r.json();
        })
        .then(function (data) {
          layer.addData(data);
          markLoaded(spec.name);
          landLoaded("overlay " + spec.name);
        })
        .catch(function () { landNotLoaded("overlay " + spec.name, load); });
      return true;
    }
    layer.once("add", load);
    state.layers[spec.name] = { layer: layer, spec: spec };
    return layer;
  }

  // --- deep links: the URL always says what the map shows ---------------------------------

  function writeUrl() {
    if (!state.map || !window.history || !window.history.replaceState) { return; }
    var c = state.map.getCenter();
    var params = new URLSearchParams();
    if (state.openApn) { params.set("parcel", state.openApn); }
    params.set("lat", c.lat.toFixed(5));
    params.set("lon", c.lng.toFixed(5));
    params.set("z", String(state.map.getZoom()));
    var off = layersSwitchedOff();
    if (off.length) { params.set("off", off.join(",")); }
    window.history.replaceState(null, "", window.location.pathname + "?" + params.toString());
  }

  // The layers switched off in the layer switcher, by name: a shared link shows what its
  // sender saw ("off=neighbourhoods"), and a reload keeps them off.
  function layersSwitchedOff() {
    return Object.keys(state.layers).filter(function (name) {
      return !state.map.hasLayer(state.layers[name].layer);
    }).sort();
  }

  function switchOffFromUrl() {
    var off = new URLSearchParams(window.location.search).get("off");
    (off ? off.split(",") : []).forEach(function (name) {
      var entry = state.layers[name];
      if (entry && state.map.hasLayer(entry.layer)) { state.map.removeLayer(entry.layer); }
    });
  }

  // --- search ----------------------------------------------------------------------------

  function showResult(result) {
    var entry = state.layers[result.layer];
    var spec = entry ? entry.spec : { title: result.layer_title, fields: [], style: {} };
    var latlng = L.latLng(result.lat, result.lon);
    // Not animated: the popup's auto-pan is worked out on the view it opens on, and during a
    // zoom animation that is the view the animation starts from, so on a phone the popup's
    // top ended up under the search bar.
    state.map.setView(latlng, Math.max(state.map.getZoom(), 18), { animate: false });
    var popup = openPopup(spec, result.properties, latlng);
    // A keyboard or screen-reader user chose this result: take them to what it opened (the
    // list they chose from is gone, and focus would otherwise fall back to the page's start).
    popup.getElement().querySelector(".clt-popup").focus({ preventScroll: true });
    bringMapIntoView();
  }

  // On a short screen (a phone held sideways, or text at 200%) the header and the search leave
  // the map below the fold, and a shared link's popup, or a search's, opened out of sight: the
  // page scrolls down until the map's foot is on the screen, never past its top.
  function bringMapIntoView() {
    var box = state.map.getContainer().getBoundingClientRect();
    var below = Math.min(box.bottom - window.innerHeight, box.top);
    if (below > 0) { window.scrollBy(0, Math.ceil(below)); }
  }

  // A problem the search answered with (a 400: "q: type at least 2 letters or digits of an
  // address or APN"), as a sentence for a resident: without the API's parameter name.
  function problemSaid(data) {
    var text = (data.detail || "").replace(/^q: /, "");
    return text ? text.charAt(0).toUpperCase() + text.slice(1) + "." : "";
  }

  function setupSearch(config) {
    var form = document.getElementById("clt-search");
    if (!form) { return; }
    var input = form.querySelector("input[name=q]");
    var list = document.getElementById("clt-search-results");
    var status = document.getElementById("clt-search-status");
    var asked = 0;  // answers to an earlier search than the last are dropped, as the finder's
    var pending = null;  // the last search's request, aborted by the next on a slow network
    returnFocusFromPopups(input);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var mine = ++asked;
      if (pending) { pending.abort(); }
      pending = window.AbortController ? new AbortController() : null;
      var q = input.value.trim();
      list.textContent = "";
      state.map.closePopup();  // the parcel found before, and its parcel= in the URL
      if (q.length < 2) {
        status.textContent = "Type at least 2 letters or digits of an address or APN.";
        fitMapToScreen();  // the line pushed the map's foot below the screen
        return;
      }
      status.textContent = "Searching…";
      fetch(config.searchUrl + "?q=" + encodeURIComponent(q),
            { credentials: "same-origin", signal: pending ? pending.signal : undefined })
        .then(function (r) { return r.json(); })
        .then(function (data) {
          if (mine !== asked) { return; }
          var results = data.results || [];
          if (!results.length) {
            status.textContent = problemSaid(data) || "No parcel found for “" + q + "”.";
          } else if (results[0].closest) {  // nothing had every word: never opened unasked
            status.textContent = "No exact match for “" + q + "”. Did you mean " +
                                 (results.length > 1 ? "one of these?" : "this one?");
          } else if (data.more) {
            status.textContent = "Showing " + results.length + "; there are more — type more " +
                                 "of the address (the house number) or the APN.";
          } else if (results.length > 1) {  // one opens its popup, and takes the focus there
            status.textContent = results.length + " parcels found: choose one below.";
          } else {
            status.textContent = "";
          }
          if (results.length === 1 && !data.more && !results[0].closest) {
            fitMapToScreen();  // an earlier search's line may have gone: the map takes it back
            showResult(results[0]);
            return;
          }
          results.forEach(function (result) {
            var item = el("li");
            var place = result.properties.place;  // a farm, a garden, a co-op, by its name
            var button = el("button", null, (place ? place + ", " : "") +
                            (result.properties.address || "(no address)") +
                            " — " + result.properties.apn);
            button.type = "button";
            button.appendChild(el("small", null, result.layer_title));
            button.addEventListener("click", function () {
              list.textContent = "";  // the list would push the map, and the parcel, down
              status.textContent = "";
              fitMapToScreen();
              showResult(result);
            });
            item.appendChild(button);
            list.appendChild(item);
          });
          fitMapToScreen();
        })
        .catch(function () {
          if (mine === asked) { status.textContent = "Search is not available right now."; }
        });
    });
  }

  // A parcel's popup (from a search, a deep link, a click) with the keyboard's focus in it:
  // Escape closes it (Leaflet's own handler listens only while the map itself has the focus),
  // and closing it, by Escape or by its close button, takes the focus back to where it came
  // into the popup from (the search box after a search), not to the page's start. Not after a
  // pointer: on a phone, focusing the search box would open the on-screen keyboard.
  function returnFocusFromPopups(input) {
    var usingKeys = false;
    var cameFrom = null;
    document.addEventListener("keydown", function () { usingKeys = true; }, true);
    document.addEventListener("pointerdown", function () { usingKeys = false; }, true);
    var container = state.map.getContainer();
    container.addEventListener("focusin", function (event) {
      var popup = event.target.closest(".leaflet-popup");
      var from = event.relatedTarget;
      if (popup && from && !popup.contains(from)) { cameFrom = from; }
    });
    container.addEventListener("keydown", function (event) {
      if (isEscape(event) && event.target.closest(".leaflet-popup")) {
        state.map.closePopup();
      }
    });
    state.map.on("popupclose", function (e) {
      var back = cameFrom;
      cameFrom = null;
      var active = document.activeElement;
      if (usingKeys && (!active || active === document.body ||
                        e.popup.getElement().contains(active))) {
        (back && back.isConnected && back !== document.body ? back : input).focus();
      }
    });
  }

  // On a phone the map takes what the header and the search bar leave of the screen. Their
  // height depends on how the trust's name wraps and on the search's status and results, so
  // it is measured here, not guessed in CSS (a guess left the map's foot off a 740-px screen).
  // A phone held sideways too (a short screen, however wide): there the map's foot, and a
  // deep link's parcel and popup, were below the screen (map.css makes the header compact).
  // Turning the phone resizes the window, which fits the map again.
  function fitMapToScreen() {
    var container = state.map.getContainer();
    if (window.innerWidth > 480 && window.innerHeight > 480) {
      container.style.height = "";
    } else {
      var top = container.getBoundingClientRect().top + window.scrollY;
      var least = Math.min(300, Math.floor(window.innerHeight * 0.6));
      container.style.height = Math.max(least, Math.floor(window.innerHeight - top)) + "px";
    }
    state.map.invalidateSize();
    keepScaleClearOfAttribution();
  }

  // On a phone the base map's attribution (bottom right) is wider than the room the scale
  // (bottom left) leaves it, and covered the scale's feet: the scale then stands on top of it.
  // Measured, as the attribution's text (and so its width and lines) is the base map's.
  function keepScaleClearOfAttribution() {
    var container = state.map.getContainer();
    var corner = container.querySelector(".leaflet-bottom.leaflet-left");
    var attribution = container.querySelector(".leaflet-control-attribution");
    if (!corner || !attribution) { return; }
    corner.style.bottom = "";
    var scale = corner.getBoundingClientRect();
    var credit = attribution.getBoundingClientRect();
    if (credit.width && scale.width && credit.left < scale.right) {
      corner.style.bottom = Math.ceil(container.getBoundingClientRect().bottom - credit.top) + "px";
    }
  }

  function start(config) {
    state.config = config;
    var map = state.map;
    setupSearch(config);
    fitMapToScreen();
    window.addEventListener("resize", fitMapToScreen);
    window.addEventListener("online", retryLand);  // the land that failed, fetched at once
    // For screen readers: the map is a named region; its drawn tiles (dozens of unnamed SVG
    // images) are decoration of what the search, popups and legend say in words.
    var container = map.getContainer();
    container.setAttribute("role", "region");
    container.setAttribute("aria-label", "Map of the land");
    ["tilePane", "overlayPane", "cltOverlays", "cltParcels", "cltBoundaries"].forEach(function (name) {
      var pane = map.getPane(name);
      if (pane) { pane.setAttribute("aria-hidden", "true"); }
    });
    switchOffFromUrl();
    map.on("moveend overlayadd overlayremove", writeUrl);
    map.on("popupclose", function () { state.openApn = null; writeUrl(); });
    map.on("resize", refitPopup);
    watchBaseMap(map);
    // A zoomed-out circle's count shows on hover: Escape hides it, the pointer staying put.
    document.addEventListener("keydown", function (event) {
      if (isEscape(event)) { hideCellCount(); }
    });
    if (config.selected) {
      var s = config.selected;
      var entry = state.layers[s.layer];
      var popup = openPopup(entry ? entry.spec : { title: s.layer_title, fields: [], style: {} },
                            s.properties, L.latLng(s.lat, s.lon));
      sayOpened(popup, s.properties.address || s.properties.apn);
      bringMapIntoView();
    }
    state.started = true;  // the page's check, at its load, finds the map running (map.html)
  }

  window.CLTMap = {
    init: init, vectorLayer: vectorLayer, geojsonLayer: geojsonLayer, start: start,
    state: state
  };
}());
