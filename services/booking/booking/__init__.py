"""The booking service: beneficiaries, credits, bookings, countermarks, the counter, emails."""
