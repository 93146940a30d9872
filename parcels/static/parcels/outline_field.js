/* The admin's outline map (parcels.admin.OutlineWidget): django-leaflet's geometry field, with
 * the outline fitted as close as the map's own maxZoom allows (LEAFLET_ADMIN's MAX_ZOOM).
 *
 * django-leaflet's L.GeometryField._setView fits with {maxZoom: this._map.maxZoom || 15}, but
 * Leaflet keeps the setting in map.options.maxZoom and never sets map.maxZoom: every outline
 * opened at zoom 15, where a 40-ft lot is a dash a few pixels long with its vertices' handles
 * on top of each other. The widget names this class (geometry_field_class), so django-leaflet
 * builds it instead of its own; a loaded page needs no inline script of ours (the CSP).
 */
(function () {
  "use strict";

  L.CltOutlineField = L.GeometryField.extend({
    _setView: function () {
      if (this.drawnItems.getLayers().length === 0) {
        return; // an empty field keeps the view django-leaflet's template tag set
      }
      var map = this._map;
      map.fitBounds(this.drawnItems.getBounds(), { maxZoom: map.getMaxZoom() });
    }
  });
})();
