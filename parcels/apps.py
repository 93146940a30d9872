from django.apps import AppConfig


class ParcelsConfig(AppConfig):
    name = "parcels"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from parcels import folding, metric

        folding.register()  # field__folded_contains and the others, for every app's searches
        # After every migrate, the metric outlines are in the CRS CLT_METRIC_SRID names.
        post_migrate.connect(
            metric.align_after_migrate, sender=self, dispatch_uid="parcels_metric_crs"
        )
