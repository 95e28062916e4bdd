"""Text in, topics out.

This package knows nothing of the helpdesk's store or channels: it turns text
into features, trains a multi-label topic model with scikit-learn, serves it
from exported arrays (fast, no sklearn import at run time), evaluates it, and
guesses the language of a query.
"""

from classifier.language import LanguageGuess, detect_language
from classifier.model import LabelledExample, TopicModel, TopicScore, load_examples, train_topic_model

__all__ = [
    "LabelledExample",
    "LanguageGuess",
    "TopicModel",
    "TopicScore",
    "detect_language",
    "load_examples",
    "train_topic_model",
]
