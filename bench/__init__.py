"""The parts of `manage.py bench`: the figures of quality.md, measured, never asserted.

`figures` holds the statistics and the printed report, `pull` times the puller on a large
workbook, `floor` builds the workbook the tablets act on, `web` runs the daphne process
under test, and `tablets` plays the tablets against it. Nothing in the app or the tests
imports this package.
"""
