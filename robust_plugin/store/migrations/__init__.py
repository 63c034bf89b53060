"""Alembic environment and revisions of the plugin's database (run by ``robust_plugin.store.migrate``)."""
