"""espace-santé: a personal health space for every citizen."""
