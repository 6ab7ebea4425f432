"""What every layer of the court uses: settings (``settings``), the one clock (``clock``,
``timeutil``), typed errors with their Chinese messages (``errors``), masking of personal data
(``privacy``), validation at the boundary (``validation``), the secrets the processes share
(``internal_auth``) and the Chinese words for every enum (``labels``). Imports nothing else of
the court."""
