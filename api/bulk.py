"""Bulk actions over the API: POST /tickets/bulk, the same service as the queue's bulk form."""

from flask import jsonify

from api.views import actor, bp, read_body
from ticketing import services


@bp.post("/tickets/bulk")
def bulk_tickets():
    data = read_body(
        {
            "tickets": ("list", True),
            "action": ("str", True),
            "assignee": ("int_or_null", False),
            "transition": ("str", False),
            "comment": ("str", False),
        }
    )
    rows = services.bulk_action(
        actor(),
        data["tickets"],
        data["action"],
        assignee_id=data.get("assignee"),
        transition_name=data.get("transition") or "",
        comment=data.get("comment") or "",
    )
    return jsonify(
        {
            "items": [
                {
                    "id": row.ticket_id,
                    "reference": row.reference,
                    "done": row.done,
                    "refusal": row.refusal,
                }
                for row in rows
            ]
        }
    )
