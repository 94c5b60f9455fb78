from __future__ import annotations

from django.urls import include, path

from frontend.views import (
    accounts,
    dashboard,
    gold_images,
    images,
    journey,
    label,
    project_admin,
    runs,
    studies,
    study_admin,
)

app_name = "frontend"

urlpatterns = [
    path("", journey.home, name="home"),
    path("signup/", accounts.signup, name="signup"),
    path("login/", accounts.RafLoginView.as_view(), name="login"),
    path("logout/", accounts.RafLogoutView.as_view(), name="logout"),
    path("set-password/<uidb64>/<token>/", accounts.RafSetPasswordView.as_view(), name="set_password"),
    path("annotators/", accounts.annotators_invite, name="annotators_invite"),
    path("projects/new/", project_admin.project_create, name="project_create"),
    path("projects/<id:project_id>/settings/", project_admin.project_settings, name="project_settings"),
    path("projects/<id:project_id>/import/", project_admin.project_import, name="project_import"),
    path("projects/<id:project_id>/tutorial/", journey.tutorial, name="tutorial"),
    path("projects/<id:project_id>/tutorial/edit/", journey.tutorial_edit, name="tutorial_edit"),
    path(
        "projects/<id:project_id>/tutorial/example/<id:label>.jpg",
        gold_images.tutorial_example,
        name="tutorial_example",
    ),
    path("projects/<id:project_id>/quiz/", journey.quiz, name="quiz"),
    path("projects/<id:project_id>/quiz/picture/<id:position>.jpg", gold_images.quiz_picture, name="quiz_picture"),
    path("projects/<id:project_id>/label/", label.label, name="label"),
    path("projects/<id:project_id>/dashboard/", dashboard.dashboard, name="dashboard"),
    path("projects/<id:project_id>/dashboard/data", dashboard.dashboard_data, name="dashboard_data"),
    path("projects/<id:project_id>/runs/", runs.project_runs, name="runs"),
    path("reliability-runs/<id:run_id>/", runs.reliability_run_page, name="reliability_run"),
    path("training-runs/<id:run_id>/", runs.training_run_page, name="training_run"),
    path("training-runs/<id:run_id>/plots/<str:key>", runs.training_run_plot, name="training_run_plot"),
    path("images/", images.image_lookup, name="image_lookup"),
    path("images/<id:image_id>/", images.image_detail, name="image"),
    path("study/<str:entry_key>/", studies.study_entry, name="study_entry"),
    path("study-end/done/", studies.study_done, name="study_done"),
    path("study-end/screened-out/", studies.study_screened_out, name="study_screened_out"),
    path("studies/", study_admin.studies, name="studies"),
    path("studies/<id:study_id>/", study_admin.study_detail, name="study"),
    path("studies/<id:study_id>/close/", study_admin.study_close_view, name="study_close"),
    path("studies/<id:study_id>/forget-participants/", study_admin.study_links_forget, name="study_links_forget"),
    path("studies/<id:study_id>/<str:kind>.csv", study_admin.study_csv, name="study_csv"),
    path("", include("frontend.urls_faces")),
]
