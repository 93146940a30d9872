from django.apps import AppConfig


class ParcelsConfig(AppConfig):
    name = "parcels"

    def ready(self) -> None:
        from parcels import folding

        folding.register()  # field__folded_contains and the others, for every app's searches
