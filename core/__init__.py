"""Stepwise domain code: models, the template format, rendering, access rules, audit.

Nothing in here reads Flask's request; routes pass in what they know.
"""
