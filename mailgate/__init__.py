"""The mail gate: mail to a queue's address becomes a ticket or a comment, through the services."""
