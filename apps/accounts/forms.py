from allauth.account import forms as allauth_forms
from django import forms

from .adapters import sso_only, sso_only_error
from .models import User


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["full_name"]
        labels = {"full_name": "Full name"}


class ResendVerificationForm(forms.Form):
    email = forms.EmailField(max_length=254, label="Email address")


class SignupForm(allauth_forms.SignupForm):
    """allauth's sign-up with a password, refused for the domains whose people sign in through the
    identity provider (SSO_ONLY_DOMAINS); the IdP's own sign-ups do not come through this form."""

    # allauth allows 320 characters; the column holds fewer, and a longer address is a form error.
    email = forms.EmailField(
        max_length=User._meta.get_field("email").max_length,
        widget=forms.EmailInput(attrs={"placeholder": "Email address", "autocomplete": "email"}),
    )

    def clean_email(self):
        email = super().clean_email()
        if sso_only(email):
            raise sso_only_error(email)
        return email
