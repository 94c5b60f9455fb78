"""Every route under /api/v1/ x every role: who may call it.

The routes are read from the URL resolver, so a new endpoint fails
``test_it_lists_every_api_route`` until it is added to ``MATRIX`` with the roles allowed.
"Allowed" means the permission layer let the request through (any answer but 401/403);
"denied" means 401 or 403.
"""

from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from annotation.models import DatasetExport, Face, Job, Qualification, ReliabilityRun, TrainingRun
from annotation.services.assignment import assignment_claim_next
from tests.annotation.factories import make_images, make_project, make_real_image, make_user, qualify

ANON, ANNOTATOR, RESEARCHER, ADMIN = "anonymous", "annotator", "researcher", "admin"
TRUSTED = "trusted"  # an annotator an admin made face editor of the project
ROLES = (ANON, ANNOTATOR, TRUSTED, RESEARCHER, ADMIN)
MEMBERS = {ANNOTATOR, TRUSTED, RESEARCHER, ADMIN}
FACE_EDITORS = {TRUSTED, ADMIN}

# url name -> {HTTP method: roles allowed}
MATRIX: dict[str, dict[str, set[str]]] = {
    "auth-token": {"POST": set(ROLES)},
    "project-list": {"GET": MEMBERS, "POST": {ADMIN}},
    "project-detail": {"GET": MEMBERS, "PATCH": {ADMIN}},
    "project-claim": {"POST": {ANNOTATOR, ADMIN}},
    "project-progress": {"GET": {ANNOTATOR, ADMIN}},
    "assignment-list": {"GET": {ANNOTATOR, ADMIN}},
    "assignment-vote": {"POST": {ANNOTATOR, ADMIN}},
    "assignment-report": {"POST": {ANNOTATOR, ADMIN}},
    "vote-undo": {"POST": {ANNOTATOR, ADMIN}},
    "vote-list": {"GET": MEMBERS},
    "image-list": {"GET": {RESEARCHER, ADMIN}},
    "image-detail": {"GET": {RESEARCHER, ADMIN}},
    "image-display": {"GET": MEMBERS},
    "job-list": {"GET": MEMBERS},
    "job-detail": {"GET": MEMBERS},
    "job-cancel": {"POST": {ADMIN}},
    "face-queue": {"GET": FACE_EDITORS},
    "face-image": {"GET": FACE_EDITORS},
    "face-image-file": {"GET": FACE_EDITORS},
    "face-create": {"POST": FACE_EDITORS},
    "face-image-reject": {"POST": FACE_EDITORS},
    "face-update": {"PATCH": FACE_EDITORS},
    "face-set-main": {"POST": FACE_EDITORS},
    "face-aligned": {"GET": FACE_EDITORS},
    "face-revisions": {"GET": FACE_EDITORS},
    "faces-detect": {"POST": {RESEARCHER, ADMIN}},
    "reliability-runs": {"GET": {RESEARCHER, ADMIN}, "POST": {ADMIN}},
    "reliability-run-detail": {"GET": {RESEARCHER, ADMIN}},
    "import-start": {"POST": {ADMIN}},
    "export-start": {"POST": {RESEARCHER, ADMIN}},
    "export-detail": {"GET": {RESEARCHER, ADMIN}},
    # the signed, expiring token is the credential (a bad one is 404 for everybody)
    "export-download": {"GET": set(ROLES)},
    "training-run-model-download": {"GET": {RESEARCHER, ADMIN}},
    "training-run-start": {"POST": {RESEARCHER, ADMIN}},
    "training-run-list": {"GET": {RESEARCHER, ADMIN}},
    "training-run-detail": {"GET": {RESEARCHER, ADMIN}},
    "training-run-cancel": {"POST": {RESEARCHER, ADMIN}},
    "training-run-make-current": {"POST": {ADMIN}},
    "training-run-artefact": {"GET": {RESEARCHER, ADMIN}},
    "predict": {"POST": {RESEARCHER, ADMIN}},
    # participant ids live here: admins only
    "study-list": {"GET": {ADMIN}, "POST": {ADMIN}},
    "study-detail": {"GET": {ADMIN}},
    "study-close": {"POST": {ADMIN}},
    "study-participant-links": {"DELETE": {ADMIN}},
    "study-work-log": {"GET": {ADMIN}},
    "study-work-log-csv": {"GET": {ADMIN}},
    # the spammer review queue and the live estimate
    "live-reliability": {"GET": {ADMIN}},
    "flag-list": {"GET": {ADMIN}},
    "flag-review": {"POST": {ADMIN}},
}
# A trusted annotator is an annotator too.
for _methods in MATRIX.values():
    for _roles in _methods.values():
        if ANNOTATOR in _roles:
            _roles.add(TRUSTED)

# A plausible body per route, so that allowed requests get past input validation.
BODIES: dict[str, dict] = {
    "auth-token": {"username": "nobody", "password": "wrong"},
    "project-list": {"name": "new project"},
    "project-detail": {"gold_rate": 0.1},
    "project-claim": {"count": 1},
    "assignment-vote": {"label": 1, "next": 0},
    "assignment-report": {"reason": "no face", "next": 0},
    "face-create": {"box": [1, 1, 40, 40], "landmarks": [[10, 12], [30, 12], [20, 22], [12, 32], [28, 32]]},
    "face-image-reject": {"reason": "not a face"},
    "face-update": {"gender": 2},
    "faces-detect": {"image_ids": []},
    "training-run-start": {"subset": "not-a-subset"},  # refused by validation: no training starts
    "flag-review": {"action": "clear"},
}


def api_route_names() -> set[str]:
    names: set[str] = set()

    def walk(patterns, prefix: str, namespace: str | None) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route, pattern.namespace or namespace)
            elif isinstance(pattern, URLPattern) and route.startswith("api/v1/"):
                names.add(pattern.name or f"<unnamed {route}>")

    walk(get_resolver().url_patterns, "", None)
    return names


def test_it_lists_every_api_route():
    routes = api_route_names()
    assert routes - set(MATRIX) == set(), "add these /api/v1/ routes to MATRIX with the roles allowed"
    assert set(MATRIX) - routes == set(), "MATRIX names routes that no longer exist"


@pytest.fixture
def world(db):
    project = make_project(gold_rate=0.0)
    make_images(project, 3)
    users = {role: make_user(role) for role in (ANNOTATOR, RESEARCHER, ADMIN)}
    users[TRUSTED] = make_user(ANNOTATOR)
    for user in users.values():
        qualify(user, project)
    Qualification.objects.filter(annotator=users[TRUSTED], project=project).update(may_edit_faces=True)
    image = make_real_image(project)
    [assignment] = assignment_claim_next(annotator=users[ANNOTATOR], project=project)
    job = Job.objects.create(kind="import", project=project, created_by=users[ANNOTATOR])
    face = Face.objects.create(image=image, is_main=True, x1=1, y1=1, x2=40, y2=40)
    run = ReliabilityRun.objects.create(project=project, succeeded=True)
    export = DatasetExport.objects.create(project=project, run=run, created_by=users[RESEARCHER])
    training_run = TrainingRun.objects.create(project=project, reliability_run=run)
    ids = {
        "project_id": project.pk,
        "image_id": assignment.image_id if assignment.image_id == image.pk else image.pk,
        "assignment_id": assignment.pk,
        "job_id": job.pk,
        "face_id": face.pk,
        "run_id": run.pk,
        "export_id": export.pk,
        "training_run_id": training_run.pk,
        "token": "not-a-signed-token",
    }
    return users, ids


def _kwargs(name: str, ids: dict[str, int]) -> dict[str, object]:
    """Path arguments for route ``name``: the world's objects where it has them, otherwise an
    unknown id (permissions are checked before the view looks anything up)."""
    api = next(p for p in get_resolver().url_patterns if isinstance(p, URLResolver) and "api/v1/" in str(p.pattern))
    route = next(str(p.pattern) for p in api.url_patterns if p.name == name)
    kwargs: dict[str, object] = {}
    for converter, key in re.findall(r"<(?:(\w+):)?(\w+)>", route):
        kwargs[key] = ids.get(key, 999_999 if converter in ("int", "id") else "x")
    return kwargs


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "method"), [(name, method) for name, methods in MATRIX.items() for method in methods])
def test_it_enforces_the_role_matrix(world, name, method, role):
    users, ids = world
    client = APIClient()
    if role != ANON:
        client.force_authenticate(users[role])
    url = reverse(f"api:{name}", kwargs=_kwargs(name, ids))
    response = getattr(client, method.lower())(url, BODIES.get(name, {}), format="json")
    allowed = role in MATRIX[name][method]
    if allowed:
        assert response.status_code not in (401, 403) and response.status_code < 500, (response.status_code, url)
    else:
        assert response.status_code in (401, 403), (response.status_code, url)
        assert "error" in response.json()
