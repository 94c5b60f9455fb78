"""A market participant's way through a study: entry link, then the project's own tutorial,
quiz and labelling pages, then the completion (or screened-out) page with the market's code.

``participant_gate`` keeps a participant's account on its study: the other journey pages call
it and follow the redirect it returns.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.contrib.auth import login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.clickjacking import xframe_options_exempt

from annotation.errors import ServiceError
from annotation.models import Project, Qualification, Study, StudyEnrolment, StudyMarket
from annotation.selectors.studies import enrolment_for_annotator
from annotation.services.studies import (
    MTURK_PREVIEW,
    market_entry_from_params,
    study_enrolment_complete,
    study_enrolment_screen_out,
    study_enter,
    study_return_url,
)
from annotation.throttling import StudyEntryThrottle
from frontend.access import page

# MTurk sends the worker's submit host in turkSubmitTo; only these are posted to.
MTURK_SUBMIT_HOSTS = ("https://www.mturk.com", "https://workersandbox.mturk.com")
TURK_SUBMIT_SESSION_KEY = "raf.study.turk_submit_to"
# Set on the tab the MTurk frame opened: the end page then asks for the code in the frame.
TAB_PARAM = "raf_tab"
TAB_SESSION_KEY = "raf.study.mturk_tab"
REDIRECT_DELAY_S = 5
LOGGED_OUT = "Your session ended. Open the study's link on the market again to go on where you left off."


def participant_next_url(enrolment: StudyEnrolment) -> str:
    """Where the participant goes now: tutorial, quiz, labelling, or the end page."""
    if enrolment.completed_at is not None:
        return reverse("frontend:study_done")
    if enrolment.screened_out_at is not None:
        return reverse("frontend:study_screened_out")
    project_id = enrolment.study.project_id
    qualification = Qualification.objects.filter(annotator_id=enrolment.annotator_id, project_id=project_id).first()
    if qualification is None or qualification.tutorial_read_at is None:
        return reverse("frontend:tutorial", args=[project_id])
    if qualification.qualified_at is None:
        return reverse("frontend:quiz", args=[project_id])
    return reverse("frontend:label", args=[project_id])


def participant_gate(request: HttpRequest, project: Project | None = None) -> HttpResponse | None:
    """For a participant's account: a redirect when the page is not theirs now (another
    project, or the study is over for them); ``None`` for them on their project, and for
    every other account."""
    enrolment = enrolment_for_annotator(annotator=request.user)
    if enrolment is None:
        return None
    over = enrolment.completed_at is not None or enrolment.screened_out_at is not None
    if project is None or over or project.pk != enrolment.study.project_id:
        return redirect(participant_next_url(enrolment))
    return None


def participant_quiz_failed(request: HttpRequest) -> HttpResponse | None:
    """A participant who fails the quiz is screened out (a market participant cannot wait for
    a retry); ``None`` for every other account."""
    enrolment = enrolment_for_annotator(annotator=request.user)
    if enrolment is None:
        return None
    study_enrolment_screen_out(enrolment=enrolment)
    return redirect("frontend:study_screened_out")


def participant_label_context(request: HttpRequest) -> dict[str, object]:
    """What the labelling page's script needs to stop at the quota (empty for others)."""
    enrolment = enrolment_for_annotator(annotator=request.user)
    if enrolment is None:
        return {}
    return {"quota": enrolment.study.quota, "done_url": reverse("frontend:study_done")}


def _problem(request: HttpRequest, message: str, status: int, study: Study | None = None) -> HttpResponse:
    return page(request, "study_problem.html", {"message": message, "study": study}, status=status)


@xframe_options_exempt
def study_entry(request: HttpRequest, entry_key: str) -> HttpResponse:
    """The study's entry URL: create or resume the participant's account, log it in, go on.

    MTurk shows an ExternalQuestion in a frame on its own site, where browsers keep no session
    cookie of ours: there the page (the only one that may be framed) opens the task in a tab
    of its own and takes the completion code back to submit the HIT from the frame."""
    if request.headers.get("Sec-Fetch-Dest") == "iframe":
        return _mturk_frame(request, entry_key)
    throttle = StudyEntryThrottle()
    if not throttle.allow_request(request, None):
        response = _problem(request, "Too many attempts from your connection. Wait a minute and try again.", 429)
        response["Retry-After"] = str(int(throttle.wait() or 60))
        return response
    study = get_object_or_404(Study.objects.select_related("project"), entry_key=entry_key)
    try:
        entry = market_entry_from_params(market=study.market, params=request.GET)
        enrolment = study_enter(study=study, entry=entry)
    except ServiceError as exc:
        if exc.code == "mturk_preview":
            return page(request, "study_preview.html", {"study": study})
        return _problem(request, exc.message, exc.status_code, study)
    if request.user.pk != enrolment.annotator_id:
        login(request, enrolment.annotator, backend="django.contrib.auth.backends.ModelBackend")
    submit_to = request.GET.get("turkSubmitTo", "").rstrip("/")
    if study.market == StudyMarket.MTURK and submit_to in MTURK_SUBMIT_HOSTS:
        request.session[TURK_SUBMIT_SESSION_KEY] = submit_to
    if request.GET.get(TAB_PARAM):
        request.session[TAB_SESSION_KEY] = True  # the HIT's frame submits; this tab shows the code
    return redirect(participant_next_url(enrolment))


def _mturk_frame(request: HttpRequest, entry_key: str) -> HttpResponse:
    study = get_object_or_404(Study.objects.select_related("project"), entry_key=entry_key, market=StudyMarket.MTURK)
    assignment_id = request.GET.get("assignmentId", "")
    submit_to = request.GET.get("turkSubmitTo", "").rstrip("/")
    context: dict[str, object] = {"study": study, "preview": assignment_id in ("", MTURK_PREVIEW)}
    if not context["preview"]:
        query = request.GET.copy()
        query[TAB_PARAM] = "1"
        context["open_url"] = f"{request.path}?{query.urlencode()}"
        if submit_to in MTURK_SUBMIT_HOSTS:
            context["submit"] = {"action": f"{submit_to}/mturk/externalSubmit", "assignment_id": assignment_id}
    return page(request, "study_mturk_frame.html", context)


def _own_enrolment(request: HttpRequest) -> StudyEnrolment:
    enrolment = enrolment_for_annotator(annotator=request.user)
    if enrolment is None:
        raise Http404("This page is for study participants.")
    return enrolment


def _end_page(request: HttpRequest, enrolment: StudyEnrolment, *, code: str, template: str) -> HttpResponse:
    study = enrolment.study
    context: dict[str, object] = {"study": study, "code": code, "delay_s": REDIRECT_DELAY_S}
    if study.market == StudyMarket.MTURK and request.session.get(TAB_SESSION_KEY):
        context["paste_back"] = True
    elif study.market == StudyMarket.MTURK:
        submit_to = request.session.get(TURK_SUBMIT_SESSION_KEY, "")
        link = getattr(enrolment, "link", None)
        if submit_to and link is not None and link.session_id:
            context["mturk_submit"] = {
                "action": f"{urlsplit(submit_to).geturl()}/mturk/externalSubmit",
                "assignment_id": link.session_id,
            }
    elif code:
        context["return_url"] = study_return_url(study=study, code=code)
    return page(request, template, context)


def study_done(request: HttpRequest) -> HttpResponse:
    """The completion page: the code, and the way back to the market."""
    if not request.user.is_authenticated:
        return _problem(request, LOGGED_OUT, 403)
    enrolment = _own_enrolment(request)
    if enrolment.screened_out_at is not None:
        return redirect("frontend:study_screened_out")
    try:
        enrolment = study_enrolment_complete(enrolment=enrolment)
    except ServiceError:
        return redirect(participant_next_url(enrolment))
    return _end_page(request, enrolment, code=enrolment.study.completion_code, template="study_done.html")


def study_screened_out(request: HttpRequest) -> HttpResponse:
    """The page of a participant the quiz screened out: the market's screened-out code."""
    if not request.user.is_authenticated:
        return _problem(request, LOGGED_OUT, 403)
    enrolment = _own_enrolment(request)
    if enrolment.screened_out_at is None:
        return redirect(participant_next_url(enrolment))
    return _end_page(request, enrolment, code=enrolment.study.screened_out_code, template="study_screened_out.html")
