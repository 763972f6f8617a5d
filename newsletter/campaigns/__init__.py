"""Campaigns and their deliveries: what is sent, to whom, and how far it has got."""
