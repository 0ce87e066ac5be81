"""The local Sheets backend that stands in for Google Sheets, and its command."""
