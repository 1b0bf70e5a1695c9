"""Pure domain: value objects, the instance aggregate and its events, policy rules.

No I/O, no clock, no database: every time and id comes from the caller.
"""
