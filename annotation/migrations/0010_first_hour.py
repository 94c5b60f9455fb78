from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("annotation", "0008_studies")]

    operations = [
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
    ]
