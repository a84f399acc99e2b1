"""Widgets and jobs of the Attributes panel (app/attributes/panel.py): faces, embedding plot, training."""
