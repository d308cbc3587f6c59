"""The user's own profile page, and resending the verification email; everything else about accounts
is served by allauth."""

from allauth.account.internal.stagekit import unstash_login
from allauth.account.views import EmailVerificationSentView
from allauth.core import ratelimit
from allauth.mfa.utils import is_mfa_enabled
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from .forms import ProfileForm, ResendVerificationForm
from .selectors import unverified_address

# What the verification page says after a resend, as constants that tests import. The same words
# whether or not the address has an account, so the form tells nobody who signed up.
RESENT = "If {email} is waiting to be verified, a new link is on its way. Check your spam folder too."
TOO_SOON = "A link went to {email} a moment ago; wait a few minutes before asking again."


@login_required
def profile(request):
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Profile saved.")
        return redirect("accounts:profile")
    return render(
        request,
        "accounts/profile.html",
        {"form": form, "mfa_enabled": is_mfa_enabled(request.user)},
    )


class VerificationSentView(EmailVerificationSentView):
    """allauth's "check your email" page, knowing the address just signed up with (from allauth's
    pending sign-in), so its resend form is filled in."""

    def get_context_data(self, **kwargs) -> dict:
        context = super().get_context_data(**kwargs)
        login = unstash_login(self.request, peek=True)
        context["pending_email"] = login.user.email if login is not None and login.user is not None else ""
        return context


@require_POST
def verification_resend(request):
    """Send the address's verification link again, within allauth's `confirm_email` rate limit (the
    one its sign-in resend counts against too)."""
    form = ResendVerificationForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Enter the email address you signed up with.")
        return redirect("account_email_verification_sent")
    email = form.cleaned_data["email"].lower()
    if not ratelimit.consume(request, action="confirm_email", key=email):
        messages.warning(request, TOO_SOON.format(email=email))
        return redirect("account_email_verification_sent")
    address = unverified_address(email)
    if address is not None:
        address.send_confirmation(request)
    messages.info(request, RESENT.format(email=email))
    return redirect("account_email_verification_sent")
