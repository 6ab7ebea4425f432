"""What every layer of the court uses: settings (``settings``), the one clock (``clock``,
``timeutil``), typed errors with their Chinese messages (``errors``), masking of personal data
(``privacy``), validation at the boundary (``validation``) and the secrets the processes share
(``internal_auth``). Imports nothing else of the court."""
