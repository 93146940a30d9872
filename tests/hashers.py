"""A password hasher for the tests only (tests/conftest.py): PBKDF2 with one round."""

from django.contrib.auth.hashers import PBKDF2PasswordHasher


class OneRoundPBKDF2(PBKDF2PasswordHasher):
    """Django's PBKDF2 hasher, same algorithm name, one round instead of a million: the tests
    create hundreds of users. Each hash records its rounds, so any process checks it."""

    iterations = 1
