"""Files kept with a ticket: one checked upload path for fields, comments, checklist and mail."""

import hashlib

from flask import current_app

from ticketing.attachments import checked_upload
from ticketing.errors import ValidationFailed
from ticketing.fields import UploadedFile
from ticketing.models import Attachment, Blob
from ticketing.services.common import SYSTEM


def store_attachment(
    ticket,
    upload: UploadedFile,
    actor,
    *,
    field_name=None,
    comment=None,
    checklist_key=None,
    internal=False,
) -> Attachment:
    """Keep an uploaded file with the ticket: checked, typed from its bytes, safely named.

    The one upload path (field files, comment and checklist attachments, mail): raises
    TooLarge or ValidationFailed (keyed by `field_name` for a form field) on refusal.
    """
    try:
        upload = checked_upload(upload, max_mb=current_app.config["MAX_ATTACHMENT_MB"])
    except ValidationFailed as exc:
        if field_name is None:
            raise
        raise ValidationFailed(exc.message, fields={field_name: exc.message}) from None
    digest = hashlib.sha256(upload.data).hexdigest()
    blob = Blob.get_or_none(Blob.sha256 == digest)
    if blob is None:
        blob = Blob.create(sha256=digest, size=len(upload.data), data=upload.data)
    return Attachment.create(
        ticket=ticket.id,
        comment=comment.id if comment else None,
        field_name=field_name,
        checklist_key=checklist_key,
        filename=upload.filename[:255],
        content_type=upload.content_type[:128],
        size=len(upload.data),
        blob=blob,
        internal=internal,
        uploaded_by=actor.id if actor is not SYSTEM else None,
    )


def store_field_files(ticket, values: dict, actor) -> dict:
    """Keep the files among a form's `values`, replacing each by a reference to its attachment."""
    for name, value in list(values.items()):
        if isinstance(value, UploadedFile):
            attachment = store_attachment(ticket, value, actor, field_name=name)
            values[name] = {
                "attachment_id": attachment.id,
                "filename": attachment.filename,
                "size": attachment.size,
            }
    return values
