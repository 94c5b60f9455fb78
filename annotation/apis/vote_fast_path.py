"""The plain vote request answered without Django's request dispatch and DRF's view machinery.

Nearly every request a running collection serves is ``POST /api/v1/assignments/<id>/vote``
with a small JSON body; its work is one prepared statement (vote, next claim, progress). Run
through Django's handler and DRF's ``APIView.dispatch``, the framework around that statement
(middleware wrappers, URL dispatch, DRF's request wrapping, content negotiation, parsing and
rendering) costs the web tier more CPU than the vote itself. :class:`VoteFastPath` wraps the
WSGI application and answers the plain case with the same pieces, called directly:

* the URL resolver (the ``api:assignment-vote`` route only), the request started/finished
  signals (database connections are recycled as usual) and the script prefix;
* every middleware's ``process_request`` / ``process_view`` / ``process_response`` in
  ``settings.MIDDLEWARE`` order (host validation, HTTPS redirect, sessions, CSRF cookie,
  security headers, ``X-Frame-Options``, ``Content-Length``: the same headers as Django's path);
* the view's own DRF authenticators (session with CSRF enforced, then token), permissions and
  ``finalize_response`` (``Allow``, ``Vary``), and DRF's JSON renderer;
* the view's own hot path, :func:`annotation.apis.assignments.vote_answer_in_one_statement`.

Anything else goes to the wrapped application unchanged, with the body replayed: another
content type, a body that is not plain JSON integers (the serializer words those errors), no
or refused credentials, a refused permission, a middleware that answers by itself (a redirect,
a bad host), a view with throttles, ``ATOMIC_REQUESTS``, and every vote the one statement hands
back (gold never: expired reservations, someone else's assignment, the first vote of a process).
Nothing is written before the hand-back, so the wrapped application sees the request as new.
``VOTE_FAST_PATH=false`` turns the wrapper off.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core import signals
from django.core.exceptions import MiddlewareNotUsed, RequestDataTooBig
from django.core.handlers.exception import response_for_exception
from django.core.handlers.wsgi import WSGIHandler, WSGIRequest, get_script_name
from django.db import connection
from django.http import HttpResponseBase
from django.urls import Resolver404, get_resolver, set_script_prefix
from django.utils.module_loading import import_string
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from annotation.apis.errors import ServiceError

logger = logging.getLogger(__name__)

_ROUTE = ("api", "assignment-vote")
# Middleware that only serves files under STATIC_URL and passes every other request through.
_PASS_THROUGH_MIDDLEWARE = {"whitenoise.middleware.WhiteNoiseMiddleware"}


def _no_response(request: Any) -> HttpResponseBase:
    raise AssertionError("the fast path calls the middleware hooks itself")


class VoteFastPath:
    """WSGI middleware: plain vote requests answered directly, everything else by ``app``."""

    def __init__(self, app: Callable[..., Iterable[bytes]], *, enabled: bool | None = None) -> None:
        self.app = app
        self.enabled = getattr(settings, "VOTE_FAST_PATH", True) if enabled is None else enabled
        self._ready: bool | None = None  # None: not prepared yet
        self._middleware: list[Any] = []
        self._view: Any = None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if self.enabled and environ.get("REQUEST_METHOD") == "POST" and environ.get("PATH_INFO", "").endswith("/vote"):
            response = self._answer(environ)
            if response is not None:
                status = f"{response.status_code} {response.reason_phrase}"
                headers = [
                    *response.items(),
                    *(("Set-Cookie", cookie.output(header="")) for cookie in response.cookies.values()),
                ]
                start_response(status, headers)
                return response
        return self.app(environ, start_response)

    # ------------------------------------------------------------------------------- set-up

    def prepare(self) -> bool:
        """Build the configured middleware's instances and find the vote view, once. ``False``
        (and the fast path stays off): a middleware it cannot stand in for (one with no hooks to
        call), throttles on the view, or ``ATOMIC_REQUESTS``."""
        if self._ready is not None:
            return self._ready
        from annotation.apis.assignments import AssignmentVoteApi

        chain = []
        for path in settings.MIDDLEWARE:
            if path in _PASS_THROUGH_MIDDLEWARE:
                continue
            factory = import_string(path)
            try:
                instance = factory(_no_response)
            except MiddlewareNotUsed:
                continue
            if not any(hasattr(instance, hook) for hook in ("process_request", "process_view", "process_response")):
                logger.warning("vote fast path off: middleware %s has no hooks to call", path)
                self._ready = False
                return False
            chain.append(instance)
        if AssignmentVoteApi.throttle_classes or connection.settings_dict.get("ATOMIC_REQUESTS"):
            logger.warning("vote fast path off: the vote view has throttles, or requests are atomic")
            self._ready = False
            return False
        self._middleware, self._view = chain, AssignmentVoteApi
        self._ready = True
        return True

    # ------------------------------------------------------------------------------- request

    def _answer(self, environ: dict[str, Any]) -> HttpResponseBase | None:
        """The response, or ``None`` to hand the request (body replayed) to the application."""
        if not self.prepare():
            return None
        set_script_prefix(get_script_name(environ))
        request = WSGIRequest(environ)
        try:
            match = get_resolver().resolve(request.path_info)
        except Resolver404:
            return None
        if (match.namespace, match.url_name) != _ROUTE:
            return None
        signals.request_started.send(sender=WSGIHandler, environ=environ)
        try:
            body = request.body
        except RequestDataTooBig:
            return None  # Django answers (and words) it: the declared length is checked before reading
        environ["wsgi.input"] = io.BytesIO(body)  # replayed if the application answers after all
        try:
            response = self._respond(request, match, body)
        except ServiceError:
            return None  # refused by the statement, which wrote nothing: the view words it
        except Exception as exc:  # as Django's handler: logged, answered 500
            response = response_for_exception(request, exc)
        if response is None:
            return None
        response._resource_closers.append(request.close)  # request_finished, as Django's handler
        return response

    def _respond(self, request: WSGIRequest, match: Any, body: bytes) -> HttpResponseBase | None:
        from annotation.apis.assignments import STATEMENT_TRIED, vote_answer_in_one_statement

        try:
            ready = self._before_the_vote(request, match, body)
        except Exception:  # nothing written yet: Django's path answers (and words) it
            logger.debug("vote fast path: handed to Django", exc_info=True)
            return None
        if ready is None:
            return None
        view, drf_request, (label, time_taken_ms, n_next) = ready
        answer = vote_answer_in_one_statement(drf_request, match.kwargs["assignment_id"], label, time_taken_ms, n_next)
        if answer is None:
            request.META[STATEMENT_TRIED] = True  # request.META is the environ the view will see
            return None
        response: HttpResponseBase = view.finalize_response(drf_request, Response(answer, status=201))
        if isinstance(response, Response):
            response = response.render()
        for instance in reversed(self._middleware):
            hook = getattr(instance, "process_response", None)
            if hook is not None:
                response = hook(request, response)
        return response

    def _before_the_vote(
        self, request: WSGIRequest, match: Any, body: bytes
    ) -> tuple[Any, Request, tuple[int, int | None, int]] | None:
        """The middleware's request hooks, the body, authentication and permissions: the view
        and DRF request to answer with and the vote, or ``None`` (Django's path answers)."""
        from annotation.apis.assignments import plain_vote_input

        middleware = self._middleware
        for instance in middleware:
            hook = getattr(instance, "process_request", None)
            if hook is not None and hook(request) is not None:
                return None  # a redirect, a refused host...
        for instance in middleware:
            hook = getattr(instance, "process_view", None)
            if hook is not None and hook(request, match.func, match.args, match.kwargs) is not None:
                return None
        if request.content_type != "application/json":
            return None
        if request.content_params.get("charset", "utf-8").lower() != "utf-8":
            return None
        try:
            valid = plain_vote_input(json.loads(body))
        except ValueError:
            return None
        if valid is None:
            return None
        view = self._view(**match.func.view_initkwargs)
        view.args, view.kwargs, view.format_kwarg = match.args, match.kwargs, None
        # The view's parsers: session authentication's CSRF check reads request.POST.
        drf_request = Request(request, parsers=view.get_parsers(), authenticators=view.get_authenticators())
        try:
            user = drf_request.user  # the view's authenticators in order: session (CSRF enforced), token
        except exceptions.APIException:
            return None
        if not user.is_authenticated:
            return None
        if not all(permission.has_permission(drf_request, view) for permission in view.get_permissions()):
            return None
        view.request, view.headers = drf_request, view.default_response_headers
        drf_request.accepted_renderer, drf_request.accepted_media_type = JSONRenderer(), JSONRenderer.media_type
        return view, drf_request, valid
