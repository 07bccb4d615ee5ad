"""Compatibility: access control moved to the ``registry.access`` package."""

from __future__ import annotations

from ..access import ANONYMOUS, Access, Identity
from ..access.passwords import hash_password, verify_password

__all__ = ["ANONYMOUS", "Access", "Identity", "hash_password", "verify_password"]
