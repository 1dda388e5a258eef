"""The plantilla de seguimiento: each institution's items and the default they start from."""

import peewee as pw

from ticketing.models.base import BaseModel
from ticketing.models.people import Institution, User


class TrackingItem(BaseModel):
    """An item of an institution's plantilla de seguimiento (tracking template)."""

    institution = pw.ForeignKeyField(Institution, backref="tracking_items", on_delete="CASCADE")
    label = pw.CharField(max_length=255)
    label_en = pw.CharField(max_length=255, default="")
    order = pw.IntegerField(default=0)
    met = pw.BooleanField(default=False)
    met_by = pw.ForeignKeyField(User, null=True, backref="+")
    met_at = pw.DateTimeField(null=True)
    note = pw.TextField(default="")

    class Meta:
        indexes = ((("institution", "order"), False),)

    def __str__(self):
        return self.label


class DefaultTrackingItem(BaseModel):
    """The default plantilla de seguimiento new institutions start from (editable by the AGQ)."""

    label = pw.CharField(max_length=255, unique=True)
    label_en = pw.CharField(max_length=255, default="")
    order = pw.IntegerField(default=0)

    def __str__(self):
        return self.label
