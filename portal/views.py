"""Project-level pages: the portal home. (The developer console lives in apps/apikeys/developer_console.py.)"""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from apps.tenants.selectors import memberships_of


@login_required
def home(request):
    return render(request, "home.html", {"memberships": memberships_of(request.user)})
