"""Keys and envelope encryption: every patient's data under the patient's own keys."""
