"""Project-level pages: the portal home and the developer console landing page."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from apps.tenants.selectors import memberships_of


@login_required
def home(request):
    return render(request, "home.html", {"memberships": memberships_of(request.user)})


@login_required
def developer_console(request):
    return render(request, "developer_console.html")
