"""Embargoed press briefings: the press list, the briefing mail, notices when it changes."""
