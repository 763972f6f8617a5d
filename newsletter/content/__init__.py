"""What the coalition publishes: press releases, statements, reports, events, news."""
