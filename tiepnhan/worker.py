"""The broker module the `dramatiq` CLI loads: `dramatiq tiepnhan.worker` (see the Procfile).

Importing it reads the configuration (environment and TIEPNHAN_CONFIG), installs the configured
broker with tiepnhan's middleware, and declares every actor on it: the pipeline stages, the
poll and periodic jobs, and the notifiers' actors when that package provides them.
"""

from __future__ import annotations

from config.settings import load_settings
from tiepnhan.actor_setup import setup
from tiepnhan.logs import setup_logging

settings = load_settings()
setup_logging(settings)
broker = setup(settings)
