"""The patients' data keys, stored only wrapped (encrypted) by the key-encryption key."""

from django.db import models

from espace_sante.identity.owned import PatientOwned


class PatientKeys(PatientOwned):
    """Two Tink keysets per patient, each encrypted with the KEK.

    ``wrapped_aead`` (AES256_GCM) encrypts short fields, ``wrapped_stream``
    (AES256_GCM_HKDF_1MB) encrypts blobs. Neither is ever stored in clear. Once
    ``destroyed_at`` is set both are empty: the patient's data is unrecoverable.
    """

    kept_after_closing = "shredded (destroyed_at), not deleted: the row proves the destruction"

    patient = models.OneToOneField(
        "identity.Person", primary_key=True, on_delete=models.PROTECT, related_name="keys"
    )
    wrapped_aead = models.BinaryField("jeu de clés AEAD chiffré")
    wrapped_stream = models.BinaryField("jeu de clés de flux chiffré")
    # The Tink key id of the KEK primary key that wrapped both keysets: rotation
    # re-wraps every row whose id differs from the current primary.
    kek_key_id = models.PositiveBigIntegerField("clé de chiffrement de clés")
    created_at = models.DateTimeField(auto_now_add=True)
    destroyed_at = models.DateTimeField("détruites le", null=True, blank=True)

    class Meta:
        verbose_name = "clés d'un patient"
        verbose_name_plural = "clés des patients"
        indexes = [models.Index(fields=["kek_key_id"], name="crypto_keys_kek_key_id")]

    def __str__(self) -> str:
        state = "détruites" if self.destroyed_at else f"clé {self.kek_key_id}"
        return f"Clés de {self.patient_id} ({state})"
