"""The 12368 hotline desk: agents' accounts and sign-in (``accounts``), the conversations agents
hold (``queue``), a phone call turned into a chat intake (``intake_links``), handoffs between
assistant and agents (``handoffs``), what a message means while waiting (``waiting``), booking
for a resident (``agent_booking``) or a phone caller (``caller_booking``), pushes that could not
be delivered (``delivery_alerts``), failing parts of the stack (``service_alerts``) and 接诉即办
requests from partners (``support_requests``)."""
