"""Canary and blue-green rollouts, next to the rolling one the pipeline runs natively.

`plan` validates what a deployment asks for, `manifests` renders the objects of a step or a colour,
`pipeline` drives the steps in short tasks, `services` records every step and the user's actions.
"""
