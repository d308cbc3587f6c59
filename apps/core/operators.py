"""The one gate of operator pages: a signed-in operator (is_staff) passes; anyone else signed in gets
the 404 of a missing page, so the operator console does not announce itself."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import Http404


def operator_required(view):
    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_staff:
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper
