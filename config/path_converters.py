"""The ``<id:...>`` path converter: Django's ``int`` bounded to what a bigint column holds.

Django's ``int`` matches any run of digits, and an id of 2**63 reached the database and came
back a 500 (``bigint out of range``). ``id`` matches at most 18 digits, so a longer one is a
plain 404 and every value fits a Postgres ``bigint``."""

from __future__ import annotations

from django.urls import converters, register_converter

MAX_ID = 10**18 - 1


class IdConverter(converters.IntConverter):
    regex = "[0-9]{1,18}"


def register() -> None:
    register_converter(IdConverter, "id")
