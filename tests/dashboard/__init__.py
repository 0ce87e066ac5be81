"""The wall dashboard: the page, its live pushes, and in a real browser."""
