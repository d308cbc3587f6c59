from django import forms

from .models import User


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["full_name"]
        labels = {"full_name": "Full name"}


class ResendVerificationForm(forms.Form):
    email = forms.EmailField(max_length=254, label="Email address")
