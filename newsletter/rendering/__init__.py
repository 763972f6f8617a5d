"""Turning templates and content into messages: environments, composition, headers."""
