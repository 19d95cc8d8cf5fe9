"""ironfield.apps.welding: spot-welding domain code (adaptive weld timing, simulator, quality).

The public edge API lives in :mod:`ironfield.apps.welding.timing` (``learn_reference`` and
``AdaptiveWeldTimer``); it needs nothing but the standard library at run time, so a weld
controller or a simulator outside ironfield can use it.
"""
