"""Errors of the crypto app; services.py re-exports them.

Their messages are for developers, in English, except those that tell the
operator what to do about the key-encryption key (``kek.py``, ``rotation.py``):
the ``keys`` command shows those as they are, in French like the rest of its
output.
"""


class CryptoError(Exception):
    """Something prevents encrypting or decrypting (keys, KEK, configuration)."""


class KeysDestroyed(CryptoError):
    """The patient's keys were destroyed (crypto-shredding): nothing can be decrypted again."""


class DecryptionFailed(CryptoError):
    """The ciphertext was altered, truncated, or belongs to another patient, object or purpose."""
