"""Errors of the crypto app; services.py re-exports them."""


class CryptoError(Exception):
    """Something prevents encrypting or decrypting (keys, KEK, configuration)."""


class KeysDestroyed(CryptoError):
    """The patient's keys were destroyed (crypto-shredding): nothing can be decrypted again."""


class DecryptionFailed(CryptoError):
    """The ciphertext was altered, truncated, or belongs to another patient, object or purpose."""
