"""Content analysis: French persons (spaCy NER + rules), validated identifiers, health terms
and attachment text. Values stay in memory; only counts and roles leave the process.

Public API::

    from model.content import ContentAnalyzer, link_person
    analysis = ContentAnalyzer().analyze(message)
"""

from __future__ import annotations

from model.content.analyzer import ContentAnalyzer
from model.content.detectors import REGISTRY, Detector, detect_all, register
from model.content.persons import link_person
from model.content.types import (
    SENSITIVE_KEYS,
    AttachmentSummary,
    ContentAnalysis,
    Person,
    PersonRole,
    Span,
    TextSource,
)

__all__ = [
    "REGISTRY",
    "SENSITIVE_KEYS",
    "AttachmentSummary",
    "ContentAnalysis",
    "ContentAnalyzer",
    "Detector",
    "Person",
    "PersonRole",
    "Span",
    "TextSource",
    "detect_all",
    "link_person",
    "register",
]
