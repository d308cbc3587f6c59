"""Every state change of the approvals app: change requests and their decisions (requests.py), and
the policies, freeze windows and platform rules that govern them (configuration.py)."""
