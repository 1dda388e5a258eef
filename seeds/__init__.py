"""Seed data: the Quipux process (quipux.yaml) and the demo people (demo.yaml)."""

from pathlib import Path

SEEDS_DIR = Path(__file__).resolve().parent
PROCESS_FILE = SEEDS_DIR / "quipux.yaml"
DEMO_FILE = SEEDS_DIR / "demo.yaml"
NOTIFICATIONS_FILE = SEEDS_DIR / "notifications.yaml"
