"""The workbook: the gateway, pull and flush, faults, drift, one writer, files and values."""
