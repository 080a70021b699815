"""The catalog service: offerers, pro users, venues, offers, stocks and seat reservations."""
