"""Bounces and complaints: from every source into one record, then one policy."""
