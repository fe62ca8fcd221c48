from django.contrib.auth.hashers import Argon2PasswordHasher


class FastArgon2PasswordHasher(Argon2PasswordHasher):
    """Still Argon2, with the cheapest parameters: tests check behaviour, not cost."""

    time_cost = 1
    memory_cost = 8
    parallelism = 1
