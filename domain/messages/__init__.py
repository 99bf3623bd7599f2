"""Messages to people: the registry of kinds (``kinds``), alert data (``alerts``) and the
delivery pipeline the worker runs for each outbox row (``delivery``)."""
