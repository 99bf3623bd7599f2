"""Passwords: hashing (bcrypt + pepper), the policy of new passwords, reset and change."""
