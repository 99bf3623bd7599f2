"""Two-factor authentication: TOTP (RFC 6238), SMS codes, backup codes and the sign-in
challenge that asks for one of them after the first factor (NIST SP 800-63B §5.1)."""
