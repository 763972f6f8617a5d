"""CSV import of subscribers (streamed, batched) and CSV export of a filtered set."""
