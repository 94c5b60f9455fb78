"""Roles as groups with permissions: annotator, researcher, admin."""

from __future__ import annotations

from django.db import migrations

ROLE_PERMISSIONS = {
    "annotator": ["add_vote", "view_image"],
    "researcher": [
        "view_image", "view_vote", "view_face", "view_reliabilityrun", "view_trainingrun",
        "add_trainingrun", "add_datasetexport", "view_datasetexport", "view_job",
    ],
    "admin": None,  # every permission of the annotation app
}


def create_roles(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=name)
        perms = Permission.objects.filter(content_type__app_label="annotation")
        if codenames is not None:
            perms = perms.filter(codename__in=codenames)
        group.permissions.set(perms)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLE_PERMISSIONS).delete()


class Migration(migrations.Migration):
    dependencies = [("annotation", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]
    operations = [migrations.RunPython(create_roles, remove_roles)]
