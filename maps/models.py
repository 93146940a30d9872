"""The map app declares layers over other apps' models.

Its only table of its own, `maps_data_version` (a counter per table the layers read, bumped by a
trigger), is created by raw SQL in migration 0001 and read by maps/versions.py: it has no model,
so no admin form or test flush can ever rewind a version.
"""
