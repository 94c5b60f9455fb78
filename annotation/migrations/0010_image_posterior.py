"""Reliability runs store the estimator's posterior per image; the default method becomes hds."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("annotation", "0009_qualification_vote_quota")]

    operations = [
        migrations.AddField(
            model_name="imagereliability",
            name="posterior",
            field=models.JSONField(
                blank=True, help_text="The estimator's posterior over the true class; null in older runs.", null=True
            ),
        ),
        migrations.AlterField(
            model_name="imagereliability",
            name="label",
            field=models.SmallIntegerField(help_text="Argmax of posterior (runs before posteriors were stored: of g)."),
        ),
        migrations.AlterField(
            model_name="imagereliability",
            name="distribution",
            field=models.JSONField(help_text="The paper's g: reliability-weighted votes of the kept annotators."),
        ),
        migrations.AlterField(
            model_name="reliabilityrun",
            name="method",
            field=models.CharField(default="hds", max_length=8),
        ),
    ]
