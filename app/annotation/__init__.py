"""The annotation editor's GUI parts: canvas items and gestures, undo commands,
attribute editor, autosave, suggestions. The panel is app/annotation/panel.py;
the engine is core/annotate/.
"""
