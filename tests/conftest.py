"""Shared test setup: the emulator fixtures (``tests/emulators.py``) for every test folder."""

pytest_plugins = ["emulators"]
