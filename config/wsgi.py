"""WSGI entry point (config/rest_server.py serves it), loaded once in each server worker.

Once the application is loaded: Django's per-request state in plain thread-locals, as each request
runs on one thread from start to end (ehr_integrations/transport/thread_affine.py), and everything
loaded so far frozen out of garbage collection (config/gc_freeze.py).
"""

import os

from django.core.wsgi import get_wsgi_application

from config.gc_freeze import freeze_loaded_objects

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

from ehr_integrations.transport.thread_affine import thread_critical_locals  # noqa: E402  (needs settings)

thread_critical_locals()  # no process-wide lock per access to Django's per-request state
freeze_loaded_objects()
