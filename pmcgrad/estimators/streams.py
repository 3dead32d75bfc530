"""Moved to :mod:`pmcgrad.streams`, the one home of pmcgrad's randomness.

This name stays importable for one round: it is the same module object, so its state (which
draws were built on which stream) is shared, not copied.
"""

import sys

from pmcgrad import streams as _streams

sys.modules[__name__] = _streams
