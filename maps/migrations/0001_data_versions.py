"""Data versions: a counter per table, bumped by a statement trigger on every write.

Vector tiles (and anything else that caches a layer) take their ETag from the versions of the
tables a layer reads, so an edit by any route (admin, import, raw SQL) changes the ETag of every
tile over that table in the same transaction. The triggers themselves are (re)installed after
each migrate for the tables the declared layers read (maps/versions.py).

The counter comes from one sequence, never reset (not even by a test flush), so a version is
never reused for different data. Writers to one table queue on its row until they commit.
"""

from django.db import migrations

CREATE = """
CREATE SEQUENCE maps_data_version_seq;
CREATE TABLE maps_data_version (
    table_name text PRIMARY KEY,
    version bigint NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT now()
);
CREATE FUNCTION maps_bump_data_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO maps_data_version AS v (table_name, version, changed_at)
    VALUES (TG_TABLE_NAME, nextval('maps_data_version_seq'), now())
    ON CONFLICT (table_name)
    DO UPDATE SET version = nextval('maps_data_version_seq'), changed_at = now();
    RETURN NULL;
END
$$;
"""

DROP = """
DROP FUNCTION maps_bump_data_version() CASCADE;
DROP TABLE maps_data_version;
DROP SEQUENCE maps_data_version_seq;
"""


class Migration(migrations.Migration):
    initial = True
    dependencies = [
        ("parcels", "0001_initial"),
        ("leases", "0001_initial"),
    ]
    operations = [migrations.RunSQL(CREATE, DROP)]
