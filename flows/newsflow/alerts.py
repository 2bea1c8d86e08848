"""Alerts: a Prefect automation that sends a notification when a news-pipeline run fails, a table-level validation
failure included (it fails the run, and the run's state message names the expectations). Set up with the
deployments (`newsflow serve`, or `newsflow alerts` after `prefect deploy --all`) on the server PREFECT_API_URL names.

The notification goes through a Prefect notification block: settings.alert_block names one saved on the server
(Slack, Microsoft Teams, e-mail...), or settings.alert_webhook_url makes a Custom Webhook block that POSTs JSON.
"""

from prefect.automations import Automation
from prefect.blocks.core import Block
from prefect.blocks.notifications import CustomWebhookNotificationBlock
from prefect.events.actions import SendNotification
from prefect.events.schemas.automations import EventTrigger, Posture

from newsflow.settings import Settings

AUTOMATION_NAME = "newsflow-alerts"
WEBHOOK_BLOCK_NAME = "newsflow-alerts"
SUBJECT = "news-pipeline run {{ flow_run.name }} failed"
BODY = "news-pipeline run {{ flow_run.name }} ({{ flow_run.id }}) ended {{ flow_run.state.name }}: {{ flow_run.state.message }}"


def notification_block(settings: Settings) -> Block | None:
    """The block alerts go through, or None when no alert is configured."""
    if settings.alert_block:
        return Block.load(settings.alert_block)
    if settings.alert_webhook_url:
        block = CustomWebhookNotificationBlock(
            name=WEBHOOK_BLOCK_NAME,
            url=settings.alert_webhook_url,
            json_data={"subject": "{{subject}}", "body": "{{body}}"},
        )
        block.save(WEBHOOK_BLOCK_NAME, overwrite=True)
        return block
    return None


def set_up_alerts(settings: Settings) -> Automation | None:
    """The automation that notifies of every failed news-pipeline run, made again with the settings' block (or
    removed, when none is configured)."""
    try:
        Automation.read(name=AUTOMATION_NAME).delete()
    except ValueError:  # none yet
        pass
    block = notification_block(settings)
    if block is None:
        return None
    return Automation(
        name=AUTOMATION_NAME,
        description="Notify when a news-pipeline run fails (a table-level validation failure fails the run).",
        trigger=EventTrigger(
            expect={"prefect.flow-run.Failed", "prefect.flow-run.Crashed"},
            match={"prefect.resource.id": "prefect.flow-run.*"},
            match_related={"prefect.resource.role": "flow", "prefect.resource.name": "news-pipeline"},
            posture=Posture.Reactive,
            threshold=1,
        ),
        actions=[SendNotification(block_document_id=block._block_document_id, subject=SUBJECT, body=BODY)],
    ).create()
