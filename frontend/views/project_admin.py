"""Admins create projects, change their settings and import images in the browser.

The settings page is built from ``SETTINGS_FIELDS``: a project setting added to the model (an
allocation or spammer policy, say) appears on the page by adding its name there, with its
label and help from ``SETTINGS_TEXT`` (or the model field's own). Writes go through
:func:`annotation.services.projects.project_save`, the same rules as the API.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.validators import MaxValueValidator, MinValueValidator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.csrf import ensure_csrf_cookie

from annotation.errors import ServiceError
from annotation.models import Project
from annotation.permissions import ADMIN
from annotation.services.projects import project_save
from frontend.access import page, role_required

# The settings an admin edits in the browser, in page order (one line per setting).
SETTINGS_FIELDS = [
    "name",
    "description",
    "votes_wanted",
    "gold_rate",
    "probation_answers",
    "probation_gold_rate",
    "allocation",
    "min_votes",
    "stop_confidence",
    "spammer_action",
    "reservation_timeout_s",
    "subset_min_votes",
    "quiz_questions",
    "quiz_pass_mark",
    "quiz_retry_delay_s",
    "tutorial_text",
    "licence_text",
]
# Label and help per setting; a field not named here uses the model field's verbose name and help.
SETTINGS_TEXT = {
    "name": ("Name", ""),
    "description": ("Description", "One or two sentences on the project's cards: what the photos are and why."),
    "votes_wanted": ("Votes wanted per image", "How many counted votes each image collects before it is done."),
    "gold_rate": ("Gold rate", "Share of served images that are gold checks (0 to 1), e.g. 0.05."),
    "probation_answers": (
        "Probation answers",
        "An annotator's first answers in the project, when gold checks come at the probation rate; 0: none.",
    ),
    "probation_gold_rate": (
        "Probation gold rate",
        "Share of gold checks among those first answers (0 to 1), e.g. 0.5: spammers are caught within them.",
    ),
    "allocation": (
        "Vote allocation",
        "fixed: every image gets the votes wanted; adaptive: an image retires once its result has settled.",
    ),
    "min_votes": ("Adaptive: minimum votes per image", "No image retires with fewer counted votes."),
    "stop_confidence": (
        "Adaptive: stop confidence",
        "How sure more votes would not change an image's result before it retires (0.5 to 0.999), e.g. 0.93.",
    ),
    "spammer_action": ("Spammer control", "Flag suspected spammers for review, or also pause them at once."),
    "reservation_timeout_s": ("Reservation time (seconds)", "How long a served face stays reserved for its annotator."),
    "subset_min_votes": (
        "Minimum counted votes for the subsets",
        "Images with fewer counted votes stay out of the basic and compound subsets of a reliability run.",
    ),
    "quiz_questions": ("Quiz questions", "Gold faces in the qualification quiz; 0 qualifies after the tutorial."),
    "quiz_pass_mark": ("Quiz pass mark", "Share of quiz answers that must match (0 to 1), e.g. 0.8."),
    "quiz_retry_delay_s": ("Quiz retry delay (seconds)", "How long an annotator who failed waits before trying again."),
    "tutorial_text": ("Tutorial", "Empty: RAF's default text on the seven emotions."),
    "licence_text": ("Licence and attribution", "Shown with the dataset exports."),
}


def settings_fields() -> list[str]:
    """``SETTINGS_FIELDS`` that the model has (a field of a later change may not be there yet)."""
    names = {f.name for f in Project._meta.get_fields()}
    return [name for name in SETTINGS_FIELDS if name in names]


class ProjectSettingsForm(forms.ModelForm):
    class Meta:
        model = Project
        fields = SETTINGS_FIELDS  # narrowed to the model's fields in __init__

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        for name, field in self.fields.items():
            label, help_text = SETTINGS_TEXT.get(name, (field.label, field.help_text))
            field.label, field.help_text = label, help_text
        for name in ("gold_rate", "probation_gold_rate", "quiz_pass_mark"):
            if name in self.fields:
                # A sentence on the field rather than the database constraint's name.
                self.fields[name].validators += [MinValueValidator(0), MaxValueValidator(1)]
                self.fields[name].widget.attrs.update({"min": 0, "max": 1, "step": "any"})
        if "stop_confidence" in self.fields:
            self.fields["stop_confidence"].validators += [MinValueValidator(0.5), MaxValueValidator(0.999)]
            self.fields["stop_confidence"].widget.attrs.update({"min": 0.5, "max": 0.999, "step": "any"})
        if "min_votes" in self.fields:
            self.fields["min_votes"].validators += [MinValueValidator(1)]
            self.fields["min_votes"].widget.attrs.update({"min": 1})


def _form_class() -> type[ProjectSettingsForm]:
    return forms.modelform_factory(Project, form=ProjectSettingsForm, fields=settings_fields())


@role_required(ADMIN)
def project_create(request: HttpRequest) -> HttpResponse:
    form = _form_class()(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            project = project_save(project=None, fields=dict(form.cleaned_data))
        except ServiceError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Project “{project.name}” created. Import its images next.")
            return redirect("frontend:project_import", project_id=project.pk)
    return page(request, "project_settings.html", {"form": form, "project": None, "nav": "home"})


@role_required(ADMIN)
def project_settings(request: HttpRequest, project_id: int) -> HttpResponse:
    project = get_object_or_404(Project, pk=project_id)
    form = _form_class()(request.POST or None, instance=project)
    if request.method == "POST" and form.is_valid():
        changed = {name: form.cleaned_data[name] for name in form.changed_data}
        try:
            project_save(project=Project.objects.get(pk=project.pk), fields=changed)
        except ServiceError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Settings saved." if changed else "Nothing changed.")
            return redirect("frontend:project_settings", project_id=project.pk)
    return page(
        request,
        "project_settings.html",
        {"form": form, "project": project, "project_nav": "settings"},
    )


@role_required(ADMIN)
@ensure_csrf_cookie
def project_import(request: HttpRequest, project_id: int) -> HttpResponse:
    project = get_object_or_404(Project, pk=project_id)
    return page(request, "project_import.html", {"project": project, "project_nav": "import"})
