from django.apps import AppConfig
from django.db.models.signals import post_migrate


class LeasesConfig(AppConfig):
    name = "leases"

    def ready(self) -> None:
        from clt.roles import apply_roles_after_migrate

        # The staff roles cover parcels and leases; leases migrates after parcels, so both apps'
        # permissions exist by the time this app's post_migrate is sent.
        post_migrate.connect(apply_roles_after_migrate, sender=self, dispatch_uid="clt_apply_roles")
