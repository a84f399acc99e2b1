import sys

from app.application import run_gui

sys.exit(run_gui(sys.argv[1:]))
