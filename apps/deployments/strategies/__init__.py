"""Rollout strategies: one protocol (base.Strategy), three implementations.

`rolling`, `canary` and `blue_green` implement the protocol; `registry.strategy_for(name)` finds a
row's. `plan` checks what a deployment asks for, `manifests` renders the objects of a canary step or
a colour from the rolling ones, `observations` turns what the cluster shows into keyed events, `peaks`
counts the most pods each strategy runs at once (for the quota check). The writes the strategies make
(step records, continue, switch back) are in apps/deployments/services/steps.py.

This module imports nothing, so the services can use `plan`, `manifests` and `peaks` without a circle.
"""
