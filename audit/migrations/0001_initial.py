import audit.models
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='AuditHead',
            fields=[
                ('id', models.PositiveSmallIntegerField(default=1, primary_key=True, serialize=False)),
                ('last_seq', models.PositiveBigIntegerField(default=0, verbose_name='last sequence number')),
                ('last_hash', models.CharField(default='0000000000000000000000000000000000000000000000000000000000000000', max_length=64, verbose_name='last hash')),
            ],
            options={
                'verbose_name': 'audit chain head',
                'verbose_name_plural': 'audit chain head',
                'constraints': [models.CheckConstraint(condition=models.Q(('id', 1)), name='audit_head_singleton')],
            },
        ),
        migrations.CreateModel(
            name='AuditEvent',
            fields=[
                ('seq', models.PositiveBigIntegerField(primary_key=True, serialize=False, verbose_name='sequence number')),
                ('at', models.DateTimeField(verbose_name='at')),
                ('actor_label', models.CharField(blank=True, max_length=254, verbose_name="actor's e-mail")),
                ('action', models.CharField(max_length=64, verbose_name='action')),
                ('object_type', models.CharField(blank=True, max_length=100, verbose_name='object type')),
                ('object_id', models.CharField(blank=True, max_length=64, verbose_name='object id')),
                ('campaign_id', models.BigIntegerField(blank=True, null=True, verbose_name='campaign id')),
                ('before', models.JSONField(blank=True, encoder=audit.models.CanonicalJSONEncoder, null=True, verbose_name='before')),
                ('after', models.JSONField(blank=True, encoder=audit.models.CanonicalJSONEncoder, null=True, verbose_name='after')),
                ('prev_hash', models.CharField(max_length=64, verbose_name='previous hash')),
                ('hash', models.CharField(max_length=64, verbose_name='hash')),
                ('actor', models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='actor')),
            ],
            options={
                'verbose_name': 'audit event',
                'verbose_name_plural': 'audit events',
                'ordering': ['-seq'],
                'indexes': [models.Index(fields=['campaign_id', 'seq'], name='audit_event_campaign_seq'), models.Index(fields=['action', 'seq'], name='audit_event_action_seq'), models.Index(fields=['actor', 'seq'], name='audit_event_actor_seq'), models.Index(fields=['actor_label', 'seq'], name='audit_event_label_seq'), models.Index(fields=['object_type', 'object_id'], name='audit_event_object'), models.Index(fields=['at'], name='audit_event_at')],
            },
        ),
    ]
