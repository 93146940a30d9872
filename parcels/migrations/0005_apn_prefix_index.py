"""An index for search by the start of an APN.

The map's search asks `apn__istartswith=q OR address__icontains=q`, which compiles to
UPPER(apn) LIKE 'Q%' OR UPPER(address) LIKE '%Q%'. The address half had its trigram index
(0003); the APN half had none, so PostgreSQL read the whole table for every search that matched
few parcels: at 1M parcels a full address, an APN prefix or a typo took 430-450 ms. A B-tree on
UPPER(apn) with text_pattern_ops answers a prefix LIKE in any collation, and the two indexes
together answer the OR as a BitmapOr. In SQL for the reason 0003 gives.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("parcels", "0004_parcel_history_condition_restorable"),
    ]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX parcel_apn_prefix ON parcels_parcel "
            "USING btree (UPPER(apn) text_pattern_ops)",
            reverse_sql="DROP INDEX parcel_apn_prefix",
        ),
    ]
