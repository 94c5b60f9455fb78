"""Admin pages for studies: create and list them, and one study's entry link, work log,
payment CSVs, closing, and forgetting the participants' market ids."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from annotation.errors import ServiceError
from annotation.models import Project, Study, StudyMarket
from annotation.permissions import ADMIN
from annotation.selectors.studies import studies_list, study_work_log
from annotation.selectors.study_payments import CSV_KINDS, study_payment_csv
from annotation.services.studies import (
    MARKET_PARAMS,
    study_close,
    study_create,
    study_links_delete,
    study_reopen,
)
from frontend.access import page, role_required


class StudyForm(forms.Form):
    project = forms.ModelChoiceField(queryset=Project.objects.order_by("name"))
    name = forms.CharField(max_length=200, required=False, help_text="For you; participants do not see it.")
    market = forms.ChoiceField(choices=StudyMarket.choices)
    quota = forms.IntegerField(min_value=1, initial=50, help_text="Votes each participant gives before completing.")
    completion_code = forms.CharField(max_length=64, help_text="The market's completion code.")
    screened_out_code = forms.CharField(
        label="Screened-out code",
        max_length=64,
        required=False,
        help_text="The code for a participant who fails the quiz.",
    )
    return_url = forms.CharField(
        label="Return URL",
        max_length=500,
        required=False,
        help_text="Where participants go at the end; {code} becomes their code. "
        "Empty on Prolific: Prolific's completion URL.",
    )
    market_study_id = forms.CharField(
        max_length=100, required=False, help_text="Optional: refuse entries that carry another STUDY_ID / hitId."
    )
    bonus_per_vote = forms.DecimalField(
        label="Bonus per vote", min_value=0, max_digits=8, decimal_places=4, initial=0, required=False
    )

    def clean_return_url(self) -> str:
        url = self.cleaned_data["return_url"].strip()
        if url and not url.startswith(("https://", "http://")):
            raise forms.ValidationError("The return URL starts with https://.")
        return url


def entry_url_template(request: HttpRequest, study: Study) -> str:
    """The URL to paste into the market, with the parameters the market fills in."""
    base = request.build_absolute_uri(reverse("frontend:study_entry", args=[study.entry_key]))
    if study.market == StudyMarket.PROLIFIC:
        names = MARKET_PARAMS[StudyMarket.PROLIFIC]
        return base + "?" + "&".join(f"{name}={{{{%{name}%}}}}" for name in names)
    if study.market == StudyMarket.MTURK:
        return base  # MTurk appends workerId, assignmentId, hitId and turkSubmitTo itself
    return base + "?participant=PARTICIPANT_ID"


@role_required(ADMIN)
def studies(request: HttpRequest) -> HttpResponse:
    """Every study, and the form that creates one."""
    form = StudyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        data["bonus_per_vote"] = data.get("bonus_per_vote") or 0
        try:
            study = study_create(created_by=request.user, **data)
        except ServiceError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Study “{study.name}” created. Paste its entry URL into the market.")
            return redirect("frontend:study", study_id=study.pk)
    return page(request, "studies.html", {"form": form, "studies": studies_list(), "nav": "studies"})


@role_required(ADMIN)
def study_detail(request: HttpRequest, study_id: int) -> HttpResponse:
    """One study: entry URL, settings and the work log with participant ids (admins only)."""
    study = get_object_or_404(Study.objects.select_related("project"), pk=study_id)
    rows = study_work_log(study=study)
    return page(
        request,
        "study.html",
        {
            "study": study,
            "entry_url": entry_url_template(request, study),
            "rows": rows,
            "n_completed": sum(row.status == "completed" for row in rows),
            "has_links": any(row.participant_id for row in rows),
            "nav": "studies",
        },
    )


@role_required(ADMIN)
@require_POST
def study_close_view(request: HttpRequest, study_id: int) -> HttpResponse:
    study = get_object_or_404(Study, pk=study_id)
    if request.POST.get("action") == "reopen":
        study_reopen(study=study)
        messages.success(request, "The study's link is open again.")
    else:
        study_close(study=study)
        messages.success(request, "The study's link is closed: no new participant can enter.")
    return redirect("frontend:study", study_id=study.pk)


@role_required(ADMIN)
@require_POST
def study_links_forget(request: HttpRequest, study_id: int) -> HttpResponse:
    study = get_object_or_404(Study, pk=study_id)
    if not request.POST.get("confirm"):
        messages.error(request, "Tick the box to confirm: deleted ids cannot come back.")
        return redirect("frontend:study", study_id=study.pk)
    n = study_links_delete(study=study)
    messages.success(request, f"Deleted {n} participant id(s). Votes and the work log stay, without them.")
    return redirect("frontend:study", study_id=study.pk)


@role_required(ADMIN)
def study_csv(request: HttpRequest, study_id: int, kind: str) -> HttpResponse:
    """The work log (``worklog``), bulk-approve (``approve``) or bonus (``bonus``) CSV."""
    if kind not in CSV_KINDS:
        raise Http404
    study = get_object_or_404(Study, pk=study_id)
    text = study_payment_csv(study=study, rows=study_work_log(study=study), kind=kind)
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="study-{study.pk}-{kind}.csv"'
    response["Cache-Control"] = "no-store"
    return response
