"""Job leases, and the one check of a vote's label against its project's classes.

* Jobs: the task to send again, the worker's lease and heartbeat, attempts. Jobs left running
  before this migration get a lease that is already stale, so the recovery task settles them.
* Votes: a statement trigger refuses (check_violation) any vote whose label is not one of its
  project's classes, whatever writes it: the vote statement, the general path, COPY, the admin.
"""

from django.conf import settings
from django.db import migrations, models

LABEL_CHECK = """
CREATE FUNCTION raf_vote_label_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT v.label, jsonb_array_length(p.classes) AS n INTO bad
    FROM new_votes v
    JOIN annotation_image i ON i.id = v.image_id
    JOIN annotation_project p ON p.id = i.project_id
    WHERE v.label < 0 OR v.label >= jsonb_array_length(p.classes)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'vote_label_in_classes: label % is not one of the project''s % classes', bad.label, bad.n
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER raf_vote_label_insert AFTER INSERT ON annotation_vote
    REFERENCING NEW TABLE AS new_votes FOR EACH STATEMENT EXECUTE FUNCTION raf_vote_label_check();
CREATE TRIGGER raf_vote_label_update AFTER UPDATE ON annotation_vote
    REFERENCING NEW TABLE AS new_votes FOR EACH STATEMENT EXECUTE FUNCTION raf_vote_label_check();
"""
LABEL_CHECK_DROP = """
DROP TRIGGER IF EXISTS raf_vote_label_insert ON annotation_vote;
DROP TRIGGER IF EXISTS raf_vote_label_update ON annotation_vote;
DROP FUNCTION IF EXISTS raf_vote_label_check();
"""
STALE_LEASES = (
    "UPDATE annotation_job SET lease_owner = 'before-leases', heartbeat_at = now() - interval '1 day' "
    "WHERE status = 'running'"
)


class Migration(migrations.Migration):

    dependencies = [
        ('annotation', '0006_vote_counters'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='job',
            name='attempts',
            field=models.PositiveSmallIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='job',
            name='heartbeat_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='job',
            name='lease_owner',
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.AddField(
            model_name='job',
            name='queue',
            field=models.CharField(blank=True, max_length=50),
        ),
        migrations.AddField(
            model_name='job',
            name='task_args',
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name='job',
            name='task_name',
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.AddIndex(
            model_name='job',
            index=models.Index(condition=models.Q(('status', 'running')), fields=['heartbeat_at'], name='job_running_heartbeat_idx'),
        ),
        migrations.RunSQL(STALE_LEASES, migrations.RunSQL.noop),
        migrations.AddConstraint(
            model_name='job',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('status', 'running'), models.Q(('lease_owner', ''), _negated=True), ('heartbeat_at__isnull', False)), models.Q(models.Q(('status', 'running'), _negated=True), ('lease_owner', '')), _connector='OR'), name='job_lease_iff_running'),
        ),
        migrations.RunSQL(LABEL_CHECK, LABEL_CHECK_DROP),
    ]
