"""OGC API - Features (Part 1 Core, GeoJSON, HTML, OpenAPI 3.0; Part 2 CRS by reference).

One module per part of the standard, each view thin: parse the request (`params`), ask the
layer's query (`query`), let PostGIS write the GeoJSON, render (`responses`).

    landing.py      /ogcapi/                       the landing page
    conformance.py  /ogcapi/conformance            the conformance classes served
    openapi.py      /ogcapi/api                    the OpenAPI 3.0 document, built from the layers
    collections.py  /ogcapi/collections[/{id}]     one collection per declared map layer
    items.py        /ogcapi/collections/{id}/items[/{featureId}]
    crs.py          the coordinate reference systems served (Part 2)
    params.py       one small parse function per query parameter, each citing its rule
    query.py        the SQL: a layer's whitelisted SELECT, filtered, paged, as GeoJSON text

Collections are the layers of `maps.layers`; a staff layer is served only to logged-in staff.
Hand-written rather than pygeoapi: pygeoapi's PostgreSQL provider reads a table or view by
name and has no notion of a Django user, so it could serve neither the layers' queryset
declarations (subqueries over holdings and leases) nor the staff/public split without a second
copy of both; the views here are a few hundred lines over the same `Layer.select_sql()` the tiles
and downloads use.
"""
