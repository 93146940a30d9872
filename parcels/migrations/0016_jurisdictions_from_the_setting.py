"""The jurisdictions are the trust's setting (CLT_JURISDICTIONS, parcels/jurisdictions.py), not
Mississippi's counties written into the model state: the fields keep max_length 32 and lose
their choices and default here. No SQL runs (Django keeps neither in the database), so every
row keeps the jurisdiction it has.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('parcels', '0015_acquired_names_its_holding'),
    ]

    operations = [
        migrations.AlterField(
            model_name='importrun',
            name='jurisdiction',
            field=models.CharField(max_length=32),
        ),
        migrations.AlterField(
            model_name='parcel',
            name='jurisdiction',
            field=models.CharField(max_length=32),
        ),
        migrations.AlterField(
            model_name='parcelevent',
            name='jurisdiction',
            field=models.CharField(max_length=32),
        ),
    ]
