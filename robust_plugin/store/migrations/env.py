"""Alembic environment: runs on the connection ``robust_plugin.store.migrate`` opened and locked."""

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run the plugin's migrations through robust_plugin.store.migrate.upgrade(url)")

context.configure(connection=connection, target_metadata=None, version_table=context.config.attributes["version_table"])
with context.begin_transaction():
    context.run_migrations()
