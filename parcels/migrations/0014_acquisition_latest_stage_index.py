"""An index on acquisition events by (parcel, date, id), for a parcel's latest pipeline stage.

The finder shows each lot's latest stage and filters on it (`parcels.queries.latest_stage`):
one backward step of this index per lot, where the foreign key's own index on the parcel alone
fetched every event of the lot to sort them. The id breaks ties between two steps on one day.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("parcels", "0013_apn_key_index"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="acquisitionevent",
            index=models.Index(fields=["parcel", "on", "id"], name="acquisition_latest_stage"),
        ),
    ]
