"""Messages in and out: the inbound journal (``inbox``), outbox delivery (``outbox``),
inline buttons (``buttons``), conversation ids for every channel (``conversations``), texts
(``sms``), the web chat's conversations (``webchat``) and poster links (``poster_links``)."""
