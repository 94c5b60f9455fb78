"""Annotator accounts: sign-up, invitations and bulk creation from a CSV.

Every account made here is in the ``annotator`` group and has an ``AnnotatorProfile``. An
account made without a password gets an unusable one; the admin hands the person a link to
set it (Django's password-reset token), so no password travels in the clear.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from django.contrib.auth.models import Group, User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from annotation.errors import ServiceError
from annotation.models import AnnotatorProfile
from annotation.permissions import ANNOTATOR

MAX_CSV_ROWS = 5000


@dataclass(frozen=True)
class AnnotatorRow:
    """One row of a bulk-creation CSV: ``username,email[,password]``."""

    line: int
    username: str
    email: str
    password: str


def _row_problems(row: AnnotatorRow) -> list[str]:
    problems: list[str] = []
    try:
        User.username_validator(row.username)
    except ValidationError as exc:
        problems.extend(exc.messages)
    if not row.username:
        problems.append("The username is empty.")
    if row.email:
        try:
            validate_email(row.email)
        except ValidationError as exc:
            problems.extend(exc.messages)
    if row.password:
        try:
            validate_password(row.password, User(username=row.username, email=row.email))
        except ValidationError as exc:
            problems.extend(exc.messages)
    return problems


def annotator_create(*, username: str, email: str = "", password: str | None = None) -> User:
    """Create one annotator account; refuses a taken username or a weak password."""
    return annotators_create(rows=[AnnotatorRow(line=1, username=username, email=email, password=password or "")])[0]


def annotators_create(*, rows: list[AnnotatorRow]) -> list[User]:
    """Create every row's account, or none: all rows are checked before anything is written."""
    errors: dict[str, list[str]] = {}
    seen: set[str] = set()
    for row in rows:
        problems = _row_problems(row)
        if row.username.lower() in seen:
            problems.append("This username appears twice in the file.")
        seen.add(row.username.lower())
        if problems:
            errors[f"line {row.line}"] = problems
    taken = set(User.objects.filter(username__in=[row.username for row in rows]).values_list("username", flat=True))
    for row in rows:
        if row.username in taken:
            errors.setdefault(f"line {row.line}", []).append(f"The username {row.username!r} is taken.")
    if errors:
        raise ServiceError("Some accounts could not be created; nothing was changed.", code="invalid", details=errors)
    group, _ = Group.objects.get_or_create(name=ANNOTATOR)
    users: list[User] = []
    with transaction.atomic():
        for row in rows:
            user = User.objects.create_user(username=row.username, email=row.email, password=row.password or None)
            user.groups.add(group)
            AnnotatorProfile.objects.create(user=user)
            users.append(user)
    return users


def annotator_rows_from_csv(*, text: str) -> list[AnnotatorRow]:
    """Parse ``username,email[,password]`` lines (a header line is skipped)."""
    rows: list[AnnotatorRow] = []
    for line, fields in enumerate(csv.reader(io.StringIO(text)), start=1):
        fields = [field.strip() for field in fields]
        if not any(fields):
            continue
        if line == 1 and fields[0].lower() == "username":
            continue
        if len(fields) not in (2, 3):
            raise ServiceError(
                f"Line {line} must be username,email[,password] (it has {len(fields)} fields).", code="invalid_csv"
            )
        rows.append(
            AnnotatorRow(line=line, username=fields[0], email=fields[1], password=fields[2] if len(fields) == 3 else "")
        )
        if len(rows) > MAX_CSV_ROWS:
            raise ServiceError(f"At most {MAX_CSV_ROWS} accounts per file.", code="invalid_csv")
    if not rows:
        raise ServiceError("The file holds no accounts.", code="invalid_csv")
    return rows
