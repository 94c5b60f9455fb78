"""Sign up, log in/out, and the admin page that invites annotators or creates them from a CSV."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.models import User
from django.contrib.auth.tokens import default_token_generator
from django.contrib.auth.views import LoginView, LogoutView, PasswordResetConfirmView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse, reverse_lazy
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from annotation.errors import ServiceError
from annotation.permissions import ADMIN
from annotation.services.accounts import annotator_create, annotator_rows_from_csv, annotators_create
from annotation.throttling import SignupThrottle
from frontend.access import page, role_required


class SignupForm(forms.Form):
    username = forms.CharField(max_length=150, help_text="Letters, digits and @/./+/-/_ only.")
    email = forms.EmailField(required=False, help_text="Optional; used only to reset your password.")
    password1 = forms.CharField(label="Password", widget=forms.PasswordInput, help_text="At least 8 characters.")
    password2 = forms.CharField(label="Password again", widget=forms.PasswordInput)

    def clean(self) -> dict:
        data = super().clean()
        if data.get("password1") and data.get("password1") != data.get("password2"):
            self.add_error("password2", "The two passwords differ.")
        return data


def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("frontend:home")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and not SignupThrottle().allow_request(request, None):
        form.add_error(None, "Too many new accounts from your network; try again later.")
        return page(request, "signup.html", {"form": form, "nav": "signup"}, status=429)
    if request.method == "POST" and form.is_valid():
        try:
            user = annotator_create(
                username=form.cleaned_data["username"],
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password1"],
            )
        except ServiceError as exc:
            for problems in (exc.details or {}).values():
                for problem in problems:
                    form.add_error(None, problem)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome, {user.username}. Pick a project to start.")
            return redirect("frontend:home")
    return page(request, "signup.html", {"form": form, "nav": "signup"})


class RafLoginView(LoginView):
    template_name = "frontend/login.html"
    redirect_authenticated_user = True
    extra_context = {"nav": "login"}


class RafLogoutView(LogoutView):
    next_page = reverse_lazy("frontend:login")


class RafSetPasswordView(PasswordResetConfirmView):
    template_name = "frontend/set_password.html"
    success_url = reverse_lazy("frontend:login")
    post_reset_login = False

    def form_valid(self, form):  # type: ignore[no-untyped-def]
        messages.success(self.request, "Your password is set. Log in to start.")
        return super().form_valid(form)


class InviteForm(forms.Form):
    username = forms.CharField(max_length=150)
    email = forms.EmailField(required=False)


class BulkForm(forms.Form):
    csv_file = forms.FileField(label="CSV file", help_text="One account per line: username,email[,password]")


def _invite_link(request: HttpRequest, user: User) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return request.build_absolute_uri(reverse("frontend:set_password", args=[uid, token]))


@role_required(ADMIN)
def annotators_invite(request: HttpRequest) -> HttpResponse:
    """Invite one annotator (a set-your-password link) or create many from a CSV."""
    invite_form = InviteForm(prefix="invite")
    bulk_form = BulkForm(prefix="bulk")
    created: list[dict[str, str]] = []
    errors: dict[str, list[str]] | None = None
    if request.method == "POST" and "invite-username" in request.POST:
        invite_form = InviteForm(request.POST, prefix="invite")
        if invite_form.is_valid():
            try:
                user = annotator_create(**invite_form.cleaned_data)
            except ServiceError as exc:
                errors = exc.details or {"": [exc.message]}
            else:
                created.append({"username": user.username, "link": _invite_link(request, user)})
                invite_form = InviteForm(prefix="invite")
    elif request.method == "POST":
        bulk_form = BulkForm(request.POST, request.FILES, prefix="bulk")
        if bulk_form.is_valid():
            try:
                text = bulk_form.cleaned_data["csv_file"].read().decode("utf-8-sig")
                users = annotators_create(rows=annotator_rows_from_csv(text=text))
            except UnicodeDecodeError:
                errors = {"": ["The file is not UTF-8 text."]}
            except ServiceError as exc:
                errors = exc.details or {"": [exc.message]}
            else:
                created = [
                    {"username": u.username, "link": "" if u.has_usable_password() else _invite_link(request, u)}
                    for u in users
                ]
    if created:
        messages.success(request, f"Created {len(created)} annotator account(s).")
    return page(
        request,
        "annotators_invite.html",
        {"invite_form": invite_form, "bulk_form": bulk_form, "created": created, "errors": errors, "nav": "invite"},
    )
