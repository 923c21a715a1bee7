"""A patient, known only by a keyed hash of the member id and birth date.

Dose frequency and duplicate claims need to know that two claims are for the same patient.
The 837 says who it is (2010BA member id, and the birth date of the subscriber or of the
2000C patient), but those are PHI: the parser hands them here and keeps nothing but the
HMAC-SHA256 under a site key. Without the key the hash cannot be turned back, nor matched
against a list of known members; with another key it links nothing.
"""

from __future__ import annotations

import hashlib
import hmac

# Hex digits kept of the HMAC: 128 bits, far beyond any chance collision of a site's patients.
PATIENT_HASH_CHARS = 32


class PatientKeyer:
    """Turns what identifies a patient into its keyed hash; one per site key."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("a patient key needs at least 16 bytes")
        self._key = key
        self._last: tuple[str, str, str] = ("", "", "")  # claims of one patient come in runs

    def __repr__(self) -> str:  # never the key
        return "PatientKeyer(<key>)"

    def __reduce__(self) -> tuple[type[PatientKeyer], tuple[bytes]]:
        # Sent to a unit process as its key alone, never the last patient it hashed.
        return type(self), (self._key,)

    def patient(self, member_id: str, birth_date: str) -> str:
        """The patient's keyed hash; "" when the claim names no member id (such a claim
        takes no part in the checks across claims)."""
        member = "".join(member_id.split()).upper()
        if not member:
            return ""
        last_member, last_birth, last_hash = self._last
        if member == last_member and birth_date == last_birth:
            return last_hash
        message = f"patient\x1f{member}\x1f{birth_date.strip()}".encode()
        digest = hmac.digest(self._key, message, "sha256").hex()[:PATIENT_HASH_CHARS]
        self._last = (member, birth_date, digest)
        return digest

    def check_value(self) -> str:
        """A value a store keeps to tell whether it was written under this key; it says
        nothing of the key itself."""
        return hmac.new(self._key, b"edi-precheck key check", hashlib.sha256).hexdigest()[:16]
