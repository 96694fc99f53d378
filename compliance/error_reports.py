"""Django error reports (500 pages in DEBUG, mails to ADMINS) without PHI.

The stock filter hides only settings and variables marked sensitive, and only with DEBUG off.
This one is always on and drops every POST value and every frame's local variables: a request
body or a local holding a caller's identifiers never reaches a report. Headers named like
credentials (Authorization, cookies) stay hidden as in the stock filter.
"""

from types import FrameType

from django.http import HttpRequest
from django.views.debug import SafeExceptionReporterFilter


class PhiSafeExceptionReporterFilter(SafeExceptionReporterFilter):
    def is_active(self, request: HttpRequest | None) -> bool:
        return True

    def get_post_parameters(self, request: HttpRequest | None) -> dict[str, str]:
        if request is None:
            return {}
        return {key: self.cleansed_substitute for key in request.POST}

    def get_traceback_frame_variables(self, request: HttpRequest | None, tb_frame: FrameType) -> list[tuple[str, str]]:
        return [(name, self.cleansed_substitute) for name in tb_frame.f_locals]
