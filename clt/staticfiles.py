"""Production's static files (`clt.production`): hashed names, compressed once, kept ten years.

`collectstatic` copies each file to a name carrying a digest of its content
(`leaflet.cc48e11dbfdc.js`), rewrites the references between files (CSS `url()`, a script's
`sourceMappingURL`) to those names, writes a .gz beside each text file, and records the names in
`staticfiles.json`. Pages name the files through `{% static %}` / `static()`, so they get the
hashed names, which whitenoise serves with `Cache-Control: max-age=315360000, public, immutable`
(ten years, whitenoise's figure for a name that never changes content): a returning visitor asks
for none of them again, and a changed file has a new name, so nobody keeps an old one. Unhashed
names are cached 60 s; development and the tests use them, served from the source folders with
no collectstatic (clt/settings.py).
"""

from __future__ import annotations

from whitenoise.storage import CompressedManifestStaticFilesStorage


class CollectedStaticFiles(CompressedManifestStaticFilesStorage):
    """whitenoise's hashed, compressed storage, whose missing manifest says what to run."""

    def stored_name(self, name: str) -> str:
        """The hashed name of `name`; without a manifest, every page would otherwise fail with
        "Missing staticfiles manifest entry", which does not say that collectstatic never ran
        with these settings."""
        if not self.hashed_files:
            raise ValueError(
                f"no static files manifest at {self.path(self.manifest_name)} (looking up "
                f"'{name}'): production serves the files collectstatic wrote. Run: "
                "clt manage collectstatic --noinput, with the production settings and the same "
                "CLT_STATIC_ROOT (the Docker image does it when it is built)"
            )
        return super().stored_name(name)


def files_of_the_code() -> set[str]:
    """Every static file's name the finders find, as collectstatic copies them (its ignore
    patterns left out): the names a manifest collected from this code has (`clt doctor`,
    `/healthz`)."""
    from django.apps import apps
    from django.contrib.staticfiles.finders import get_finders

    ignored = apps.get_app_config("staticfiles").ignore_patterns
    return {path for finder in get_finders() for path, _ in finder.list(ignored)}
