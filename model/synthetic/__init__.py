"""The synthetic French health-centre world (``misdirect generate``) and annotated mails for NER.

``generate_world`` writes the history, the test month and its labels; ``annotated_mails``
yields French mail texts with gold person spans, split by template.
"""

from model.synthetic.annotated import annotated_mails
from model.synthetic.generate import generate_world
from model.synthetic.templates import AnnotatedMail

__all__ = ["AnnotatedMail", "annotated_mails", "generate_world"]
