"""Everything that knows a workbook exists: the gateway (the only way in and out of it),
its columns and values, the outbox, the pull, the flush and the sync loop, xlsx, the
v2.1 migration, the demo workbook, and the local Google backend (`local_sheet`, sealed:
it imports nothing from Django or the apps)."""
