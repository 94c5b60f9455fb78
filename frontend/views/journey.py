"""The annotator's way in: project list, tutorial, qualification quiz."""

from __future__ import annotations

import math
from datetime import datetime

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone

from annotation.errors import ServiceError
from annotation.models import Project, Qualification
from annotation.permissions import ADMIN, ANNOTATOR, RESEARCHER, has_role
from annotation.selectors.projects import projects_progress
from annotation.services.qualification import (
    project_tutorial_update,
    qualification_get,
    qualification_mark_tutorial_read,
    qualification_quiz_start,
    qualification_quiz_submit,
    quiz_image_ids,
    quiz_retry_at,
    tutorial_example_images,
)
from frontend.access import page, role_required
from frontend.tutorial_text import DEFAULT_TUTORIAL, EMOTION_HINTS
from frontend.views.gold_images import QUIZ_SESSION_KEY
from frontend.views.studies import participant_gate, participant_quiz_failed


def home(request: HttpRequest) -> HttpResponse:
    """Projects, each with the user's next step (tutorial, quiz, label) and, for staff, the dashboard;
    for visitors, the landing page that says what RAF is."""
    if not request.user.is_authenticated:
        return page(request, "landing.html", {"nav": "landing"})
    if (elsewhere := participant_gate(request)) is not None:
        return elsewhere  # a study participant's account only ever sees its study
    projects = list(Project.objects.order_by("name"))
    standing = {q.project_id: q for q in Qualification.objects.filter(annotator=request.user, project__in=projects)}
    progress = projects_progress(project_ids=[p.pk for p in projects])
    rows = []
    for project in projects:
        qualification = standing.get(project.pk)
        if qualification is None or qualification.tutorial_read_at is None:
            step = ("Read the tutorial", "frontend:tutorial")
        elif not qualification.is_qualified:
            step = ("Take the quiz", "frontend:quiz")
        else:
            step = ("Label faces", "frontend:label")
        rows.append(
            {"project": project, "step": step, "qualification": qualification, "progress": progress.get(project.pk)}
        )
    return page(
        request,
        "home.html",
        {
            "rows": rows,
            "nav": "home",
            "can_label": has_role(request.user, ANNOTATOR),
            "staff": has_role(request.user, RESEARCHER),
        },
    )


def _classes_with_examples(project: Project) -> list[dict[str, object]]:
    examples = tutorial_example_images(project=project)
    return [
        {
            "key": index + 1,
            "name": name,
            "hint": EMOTION_HINTS.get(name, ""),
            "example_url": reverse("frontend:tutorial_example", args=[project.pk, index]) if index in examples else "",
        }
        for index, name in enumerate(project.classes)
    ]


@role_required(ANNOTATOR)
def tutorial(request: HttpRequest, project_id: int) -> HttpResponse:
    project = get_object_or_404(Project, pk=project_id)
    if (elsewhere := participant_gate(request, project)) is not None:
        return elsewhere
    if request.method == "POST":
        qualification = qualification_mark_tutorial_read(annotator=request.user, project=project)
        return redirect("frontend:label" if qualification.is_qualified else "frontend:quiz", project_id=project.pk)
    qualification = qualification_get(annotator=request.user, project=project)
    return page(
        request,
        "tutorial.html",
        {
            "project": project,
            "text": project.tutorial_text or DEFAULT_TUTORIAL,
            "classes": _classes_with_examples(project),
            "qualification": qualification,
        },
    )


class TutorialForm(forms.Form):
    tutorial_text = forms.CharField(
        widget=forms.Textarea, required=False, help_text="Leave empty to use RAF's default tutorial."
    )
    quiz_questions = forms.IntegerField(min_value=0, max_value=200, help_text="0 qualifies on reading the tutorial.")
    quiz_pass_mark = forms.FloatField(min_value=0, max_value=1, help_text="Share of right answers to pass, 0-1.")
    quiz_retry_delay_s = forms.IntegerField(min_value=0, label="Retry delay (seconds)")


@role_required(ADMIN)
def tutorial_edit(request: HttpRequest, project_id: int) -> HttpResponse:
    project = get_object_or_404(Project, pk=project_id)
    initial = {name: getattr(project, name) for name in TutorialForm.base_fields}
    initial["tutorial_text"] = project.tutorial_text or DEFAULT_TUTORIAL
    form = TutorialForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        project_tutorial_update(project=project, **form.cleaned_data)
        messages.success(request, "Tutorial and quiz settings saved.")
        return redirect("frontend:tutorial", project_id=project.pk)
    return page(request, "tutorial_edit.html", {"project": project, "form": form})


def wait_words(when: datetime | None) -> str:
    """How long until ``when``, as a phrase: "in less than a minute", "in 9 minutes", "in 1 hour 5 minutes"."""
    if when is None:
        return ""
    seconds = (when - timezone.now()).total_seconds()
    if seconds < 60:
        return "in less than a minute"
    minutes = math.ceil(seconds / 60)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{hours} hour{'s' if hours != 1 else ''}"] if hours else []
    if minutes:
        parts.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    return "in " + " ".join(parts)


@role_required(ANNOTATOR)
def quiz(request: HttpRequest, project_id: int) -> HttpResponse:
    """GET draws an attempt; POST scores it and shows the score only (never the answers)."""
    project = get_object_or_404(Project, pk=project_id)
    if (elsewhere := participant_gate(request, project)) is not None:
        return elsewhere
    qualification = qualification_get(annotator=request.user, project=project)
    if qualification.is_qualified:
        return redirect("frontend:label", project_id=project.pk)
    if qualification.tutorial_read_at is None:
        return redirect("frontend:tutorial", project_id=project.pk)
    if request.method == "POST":
        # Answers are named by position in the quiz (never by image id); map them back.
        token = request.POST.get("token", "")
        image_ids = quiz_image_ids(token=token)
        answers: dict[int, int] = {}
        for position, image_id in enumerate(image_ids):
            value = request.POST.get(f"answer-{position}", "")
            if value.lstrip("-").isdigit():
                answers[image_id] = int(value)
        try:
            result = qualification_quiz_submit(annotator=request.user, project=project, token=token, answers=answers)
        except ServiceError as exc:
            messages.error(request, exc.message)
            return redirect("frontend:quiz", project_id=project.pk)
        if result.passed:
            messages.success(request, f"You passed with {result.correct} of {result.total}. You can now label faces.")
            return redirect("frontend:label", project_id=project.pk)
        if (screened_out := participant_quiz_failed(request)) is not None:
            return screened_out
        waiting = result.retry_at is not None and result.retry_at > timezone.now()
        return page(
            request,
            "quiz_result.html",
            {"project": project, "result": result, "waiting": waiting, "retry_in": wait_words(result.retry_at)},
        )
    retry_at = quiz_retry_at(qualification=qualification, project=project)
    if retry_at is not None:
        return page(
            request, "quiz_wait.html", {"project": project, "retry_at": retry_at, "retry_in": wait_words(retry_at)}
        )
    try:
        attempt = qualification_quiz_start(annotator=request.user, project=project)
    except ServiceError as exc:
        return page(request, "quiz_wait.html", {"project": project, "problem": exc.message}, status=exc.status_code)
    request.session[QUIZ_SESSION_KEY.format(project_id=project.pk)] = attempt.token
    questions = [
        {
            "image": image,
            "url": reverse("frontend:quiz_picture", args=[project.pk, position]),
            "field": f"answer-{position}",
        }
        for position, image in enumerate(attempt.images)
    ]
    classes = [{"index": i, "key": i + 1, "name": name} for i, name in enumerate(project.classes)]
    return page(
        request,
        "quiz.html",
        {
            "project": project,
            "token": attempt.token,
            "questions": questions,
            "classes": classes,
            "pass_mark_pct": round(project.quiz_pass_mark * 100),
        },
    )
