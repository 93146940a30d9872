"""No spatial index on the outlines kept in parcel history (see Parcel's tracker)."""

import django.contrib.gis.db.models.fields
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("parcels", "0006_staff_search_indexes"),
    ]

    operations = [
        migrations.AlterField(
            model_name="parcelevent",
            name="geom",
            field=django.contrib.gis.db.models.fields.MultiPolygonField(
                blank=True, null=True, spatial_index=False, srid=4326
            ),
        ),
    ]
