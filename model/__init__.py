"""misdirect: per-recipient misdirection risk for outgoing e-mail.

Flow: parse mail (``mail``, ``ingest``) → content analysis (``content``) → history profiles
(``history``) → features (``features``) → model (``train``, ``bundle``) → verdict and reasons
(``scoring``). Nothing here has side effects at import time.
"""

__version__ = "0.1.0"
