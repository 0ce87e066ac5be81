"""ZEUES's tests, grouped by what the product does: lifecycle/, tablet/, dashboard/,
supervisor/, workbook/ and local_sheet/; the builders they share sit here."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the project: manage.py, the apps, pyproject
