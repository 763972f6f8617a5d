"""A self-hosted mailing list and newsletter service for civil-society coalitions."""

__version__ = "0.1.0"
