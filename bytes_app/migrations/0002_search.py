"""Full-text search structures; they differ per database, see bytes_app/search.py."""

from django.db import migrations

from bytes_app import search


def run(statements_by_vendor):
    def apply(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return apply


class Migration(migrations.Migration):
    dependencies = [("bytes_app", "0001_initial")]

    operations = [
        migrations.RunPython(
            run({"sqlite": search.SQLITE_SQL, "postgresql": search.POSTGRES_SQL}),
            run({"sqlite": search.SQLITE_REVERSE_SQL, "postgresql": search.POSTGRES_REVERSE_SQL}),
        )
    ]
