"""Issue 17: the subsets' minimum of counted votes per image (a project setting), each
annotator's estimated accuracy on a reliability run, and the record of undone votes."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("annotation", "0011_export_releases"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="annotatorreliability", options={"verbose_name_plural": "annotator reliabilities"}
        ),
        migrations.AlterModelOptions(name="imagereliability", options={"verbose_name_plural": "image reliabilities"}),
        migrations.AddField(
            model_name="project",
            name="description",
            field=models.TextField(blank=True, help_text="A sentence or two for the project cards."),
        ),
        migrations.AddField(
            model_name="project",
            name="subset_min_votes",
            field=models.PositiveIntegerField(
                default=5, help_text="Images with fewer counted votes stay out of the basic and compound subsets."
            ),
        ),
        migrations.AddField(
            model_name="annotatorreliability",
            name="accuracy",
            field=models.FloatField(null=True),
        ),
        migrations.CreateModel(
            name="UndoneVote",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("vote_id", models.BigIntegerField(unique=True)),
                ("label", models.SmallIntegerField()),
                ("time_taken_ms", models.PositiveIntegerField(blank=True, null=True)),
                ("counted", models.BooleanField()),
                ("is_gold", models.BooleanField()),
                ("created_at", models.DateTimeField()),
                ("undone_at", models.DateTimeField()),
                (
                    "annotator",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="undone_votes",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "assignment",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="undone_votes",
                        to="annotation.assignment",
                    ),
                ),
                (
                    "image",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="undone_votes", to="annotation.image"
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("undone_at__gte", models.F("created_at"))), name="undone_after_vote"
                    ),
                    models.CheckConstraint(condition=models.Q(("label__gte", 0)), name="undone_label_nonneg"),
                ],
            },
        ),
    ]
