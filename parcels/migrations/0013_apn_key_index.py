"""An index for search by an APN typed without its dashes ("164113008") or with spaces.

The map's search compares the APN with its separators taken out and upper-cased
(`maps.search.ApnKey`) to the text typed, also without separators: by its start, as 0005's index
answers an APN typed with its dashes. A B-tree on that expression with text_pattern_ops answers
the prefix LIKE in any collation; the planner uses an index only for the expression it was built
on, so the search writes exactly this one. In SQL for the reason 0003 gives.
"""

from django.db import migrations

# maps.search.ApnKey as of this migration (a migration does not follow later code).
APN_KEY_SQL = "upper(regexp_replace(apn, '[^0-9A-Za-z]+', '', 'g'))"


class Migration(migrations.Migration):
    dependencies = [
        ("parcels", "0012_registry_date_range"),
    ]

    operations = [
        migrations.RunSQL(
            [
                f"CREATE INDEX parcel_apn_key ON parcels_parcel "
                f"USING btree (({APN_KEY_SQL}) text_pattern_ops)",
                # An expression index has statistics of its own, gathered by ANALYZE only (0010).
                "ANALYZE parcels_parcel",
            ],
            reverse_sql="DROP INDEX parcel_apn_key",
        ),
    ]
