"""Event registrations: sign-up with a waiting list, confirmations with ``.ics``, reminders."""
