"""Widgets and jobs of the Attributes panel (app/panels/attributes.py): faces, embedding plot, training."""
