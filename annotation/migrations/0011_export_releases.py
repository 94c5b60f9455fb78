from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("annotation", "0010_image_posterior"),
    ]

    operations = [
        migrations.AddField(
            model_name="reliabilityrun",
            name="votes_snapshot_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="reliabilityrun",
            name="votes_snapshot_last_id",
            field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="datasetexport",
            name="format",
            field=models.CharField(
                choices=[("rafdb", "RAF-DB release layout"), ("hf", "Hugging Face datasets (Parquet, Croissant)")],
                default="rafdb",
                max_length=8,
            ),
        ),
        migrations.AddField(
            model_name="datasetexport",
            name="content_hash",
            field=models.CharField(blank=True, max_length=64),
        ),
    ]
