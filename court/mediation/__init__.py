"""What mediators and mediated cases need: a mediator's Telegram side (``linking`` a chat with a
one-time code, the ``agenda`` they see and answer, recording ``outcomes``), 委派调解
(``delegation`` for what every step shares, ``delegation_offers``, ``delegation_outcomes``,
``delegation_deadlines``, ``delegation_reads``, ``party_sms``), agreements and judicial
confirmation (``agreements``, ``agreement_documents``, ``confirmations``, ``document_links``) and
training hours (``training``)."""
