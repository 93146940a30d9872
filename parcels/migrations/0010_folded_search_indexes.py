"""The trigram indexes on addresses and owners, rebuilt on their *folded* form.

Staff and residents search "Oneal" for "O'NEAL" and "O'Neal" for "ONEAL" (`parcels.folding`):
the search compares the column upper-cased with its apostrophes replaced by nothing, and an
index answers only the expression it was built on. Same names; the plain UPPER() forms of 0003
and 0006 are no longer asked for by any search. Written in SQL for the reason 0003 gives.
"""

from django.db import migrations

# parcels.folding.FOLD_SQL as of this migration (a migration does not follow later code).
FOLD_SQL = "replace(replace(replace(replace(upper({}), '''', ''), '’', ''), '‘', ''), 'ʼ', '')"

INDEXES = {"parcel_address_trgm": "address", "parcel_owner_trgm": "owner_of_record"}


def create(expression: str) -> list[str]:
    return [
        f"CREATE INDEX {name} ON parcels_parcel USING gin ({expression.format(column)} "
        f"gin_trgm_ops)"
        for name, column in INDEXES.items()
    ]


DROP = [f"DROP INDEX {name}" for name in INDEXES]
# An expression index has statistics of its own, gathered by ANALYZE only: without them the
# planner guesses how many addresses a word matches until autovacuum next analyzes the table.
ANALYZE = ["ANALYZE parcels_parcel"]


class Migration(migrations.Migration):
    dependencies = [
        ("parcels", "0009_plain_constraint_messages"),
    ]

    operations = [
        migrations.RunSQL(
            [*DROP, *create(FOLD_SQL), *ANALYZE],
            reverse_sql=[*DROP, *create("UPPER({})"), *ANALYZE],
        ),
    ]
