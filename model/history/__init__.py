"""History profiles: sender → recipient → topic patterns of the organisation's past mail."""

from model.history.kinds import KINDS, is_private, org_key, recipient_kind
from model.history.profiles import HistoryProfiles, Pair
from model.history.store import HistoryStore
from model.history.topics import TopicModel, topic_text

__all__ = [
    "KINDS",
    "HistoryProfiles",
    "HistoryStore",
    "Pair",
    "TopicModel",
    "is_private",
    "org_key",
    "recipient_kind",
    "topic_text",
]
