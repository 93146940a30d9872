"""An "acquired" step of the acquisition pipeline names the holding its parcel joined.

Without one, the pipeline called land the trust's that no count, map or finder treated as held.
A step recorded so before is linked here to the holding its parcel joined on or before the
step's date (else the first it joined); one whose parcel was never in a holding cannot be
guessed, and stops the migration naming it, with the fix. The holding is protected from
deletion while a step names it (the constraint would refuse the SET NULL).
"""

import django.db.models.deletion
from django.db import migrations, models


def link_acquired_steps_to_their_holding(apps, schema_editor):
    AcquisitionEvent = apps.get_model("parcels", "AcquisitionEvent")
    HoldingParcel = apps.get_model("parcels", "HoldingParcel")
    unlinked = AcquisitionEvent.objects.filter(stage="acquired", holding__isnull=True)
    orphans = []
    for step in unlinked.select_related("parcel").order_by("parcel__apn", "on", "pk"):
        memberships = HoldingParcel.objects.filter(parcel=step.parcel_id)
        joined = (
            memberships.filter(began_on__lte=step.on).order_by("-began_on").first()
            or memberships.order_by("began_on").first()
        )
        if joined is None:
            orphans.append(f"{step.parcel.apn} (acquired on {step.on}, step {step.pk})")
            continue
        step.holding_id = joined.holding_id
        step.save(update_fields=["holding"])
    # The links' foreign-key checks wait for the commit, and PostgreSQL alters no table with
    # checks pending: run them now, before the constraint is added.
    schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    if orphans:
        raise RuntimeError(
            f"{len(orphans)} acquisition step(s) say acquired, but the parcel is in no "
            f"holding: {', '.join(orphans)}. In the admin, add the holding with the parcel "
            "(Holdings, Add) or change the step's stage, then run `clt migrate` again."
        )


class Migration(migrations.Migration):
    dependencies = [
        ("parcels", "0014_acquisition_latest_stage_index"),
    ]

    operations = [
        migrations.RunPython(link_acquired_steps_to_their_holding, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="acquisitionevent",
            name="holding",
            field=models.ForeignKey(
                blank=True,
                help_text="The holding the parcel joined (required when acquired)",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                to="parcels.holding",
            ),
        ),
        migrations.AlterField(
            model_name="acquisitioneventevent",
            name="holding",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                help_text="The holding the parcel joined (required when acquired)",
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                related_query_name="+",
                to="parcels.holding",
            ),
        ),
        migrations.AddConstraint(
            model_name="acquisitionevent",
            constraint=models.CheckConstraint(
                condition=models.Q(("stage", "acquired"), _negated=True)
                | models.Q(("holding__isnull", False)),
                name="acquired_names_its_holding",
                violation_error_code="acquired_without_a_holding",
                violation_error_message="Name the holding an acquired parcel joined.",
            ),
        ),
    ]
