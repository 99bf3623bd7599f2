"""Sessions: password sign-in, opening sessions, refresh rotation, sign-out, access-token
authentication, and a user's management of their own sessions."""
