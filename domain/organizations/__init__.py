"""Organizations, memberships, invitations and teams (API.md "Organizations and context")."""
