"""Users and administration: profiles, the admin's list, roles, activation, erasure and
the first admin (API.md /v1/users; issue 9 "Users and admin")."""
