"""Live video in the workbench: the session controller, the HUD, the batch dialog (see app/live/panel.py)."""
