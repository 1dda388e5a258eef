"""Notifications: the outbox, delivery jobs, templates, reminders and mail in."""
