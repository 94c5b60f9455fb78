"""Abuse limits (issue 15): the quiz kept server-side, quiz images remembered per annotator (never
served to them as gold checks), face correction as a role per project (was one global flag),
and a per-project minimum time between claim and vote."""

import django.contrib.postgres.fields
from django.db import migrations, models


def trusted_to_project_roles(apps, schema_editor):
    # A globally trusted annotator keeps face correction where they work: the projects they
    # have a qualification in. Elsewhere an admin grants it per project.
    AnnotatorProfile = apps.get_model("annotation", "AnnotatorProfile")
    Qualification = apps.get_model("annotation", "Qualification")
    trusted = AnnotatorProfile.objects.filter(trusted=True).values_list("user_id", flat=True)
    Qualification.objects.filter(annotator_id__in=list(trusted)).update(may_edit_faces=True)


class Migration(migrations.Migration):

    dependencies = [
        ('annotation', '0012_first_hour'),
    ]

    operations = [
        migrations.AddField(
            model_name='project',
            name='min_vote_ms',
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='qualification',
            name='may_edit_faces',
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name='qualification',
            name='quiz_current',
            field=django.contrib.postgres.fields.ArrayField(base_field=models.BigIntegerField(), blank=True, default=list, size=None),
        ),
        migrations.AddField(
            model_name='qualification',
            name='quiz_seen',
            field=django.contrib.postgres.fields.ArrayField(base_field=models.BigIntegerField(), blank=True, default=list, size=None),
        ),
        migrations.AddField(
            model_name='qualification',
            name='quiz_started_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='qualification',
            name='quiz_token',
            field=models.CharField(blank=True, db_index=True, default='', max_length=64),
        ),
        migrations.RunPython(trusted_to_project_roles, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name='annotatorprofile',
            name='trusted',
        ),
    ]
