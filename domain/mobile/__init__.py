"""Mobile devices paired by a one-time QR token (API.md /v1/mobile).

``access``: the per-account switch and the paired devices (list, unpair one, unpair all).
``pairing``: a signed-in session asks for a pairing token shown as a QR code; the phone
trades it once for a long-lived mobile session as strong as the sign-in that asked for it.
"""
