from django.apps import AppConfig
from django.db.models.signals import post_migrate


class MapsConfig(AppConfig):
    name = "maps"

    def ready(self) -> None:
        from clt import connections, statement_timeout
        from maps.versions import watch_all_layers

        # The project's one app with a ready(): the health-check policy for database
        # connections (clt/connections.py), which the map's tiles motivated, is installed here,
        # and the time limit on a web request's statements (clt/statement_timeout.py).
        connections.install()
        statement_timeout.install()

        # After every migrate (and test flush), every table a layer reads bumps its data version
        # on write, so tiles cached by version can never outlive an edit (maps/versions.py).
        post_migrate.connect(watch_all_layers, sender=self, dispatch_uid="maps_watch_layers")
