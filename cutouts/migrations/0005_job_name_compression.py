from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("cutouts", "0004_job_token_and_login_wait")]

    operations = [
        migrations.AddField(
            model_name="cutoutjob", name="compression",
            field=models.CharField(blank=True, default="none", max_length=16),
        ),
        migrations.AddField(
            model_name="cutoutjob", name="name", field=models.CharField(blank=True, default="", max_length=120),
        ),
    ]
