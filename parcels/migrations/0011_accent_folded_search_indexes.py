"""The trigram indexes on addresses and owners, rebuilt on a fold that also takes accents off.

"Pena" finds "Peña" and "Peña" finds a county file's "PENA" (`parcels.folding`). The search
compares the column folded, and an index answers only the expression it was built on. Same
names as 0010's. The new expression costs less than 0010's on plain-ASCII values, nearly every
row of a county file, which take its cheap branch.
"""

import importlib

from django.db import migrations

# parcels.folding.FOLD_SQL as of this migration (a migration does not follow later code).
FOLD_SQL = (
    "(CASE WHEN octet_length({0}) = char_length({0}) THEN upper(replace({0}, '''', '')) "
    "ELSE upper(regexp_replace(normalize({0}, NFKD), "
    r"'[''\u2019\u2018\u02bc\u0300-\u036f]', '', 'g')) END)"
)

previous = importlib.import_module("parcels.migrations.0010_folded_search_indexes")


class Migration(migrations.Migration):
    dependencies = [
        ("parcels", "0010_folded_search_indexes"),
    ]

    operations = [
        migrations.RunSQL(
            [*previous.DROP, *previous.create(FOLD_SQL), *previous.ANALYZE],
            reverse_sql=[*previous.DROP, *previous.create(previous.FOLD_SQL), *previous.ANALYZE],
        ),
    ]
